package io.flinkrust.bridge.source;

import io.flinkrust.bridge.datastream.RustSourceBuilder;
import io.flinkrust.bridge.jni.NativeValidationException;
import io.flinkrust.bridge.jni.SourceValidator;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.runtime.typeutils.InternalTypeInfo;
import org.apache.flink.table.types.logical.LogicalType;

import java.util.List;
import java.util.Objects;

/**
 * A FLIP-27 source over a Rust connector. Enumerator and readers are native objects created where
 * Flink runs them (JobManager, TaskManagers); this object carries only the {@link RustSourceSpec}.
 * It produces {@link RowData} (each row a {@code BinaryRowData} written natively).
 *
 * <p>Construction validates the spec natively, so bad options fail at job submission with
 * {@link NativeValidationException}.
 */
public final class RustSource
        implements Source<RowData, NativeSplit, EnumeratorCheckpoint>, ResultTypeQueryable<RowData> {
    private static final long serialVersionUID = 1L;

    private final RustSourceSpec spec;
    private final Boundedness boundedness;

    /**
     * @throws NativeValidationException if the connector rejects the options or the row type
     * @throws UnsupportedOperationException on a Flink version the jar does not support
     */
    public RustSource(RustSourceSpec spec) {
        SupportedFlinkVersions.ensureSupported();
        this.spec = Objects.requireNonNull(spec, "spec");
        this.boundedness = SourceValidator.validate(spec.toDefinition())
                ? Boundedness.BOUNDED
                : Boundedness.CONTINUOUS_UNBOUNDED;
    }

    /**
     * This source, reading these metadata columns after its physical ones (replacing any read
     * before; see {@link RustSourceSpec#withMetadata}). Validated natively again: the connector
     * sees the metadata fields in its row type and rejects keys or types it does not offer.
     *
     * @throws NativeValidationException if the connector rejects the metadata columns
     */
    public RustSource withMetadata(List<String> keys, List<LogicalType> types) {
        RustSourceSpec withMetadata = spec.withMetadata(keys, types);
        if (withMetadata.equals(spec)) {
            return this;
        }
        return new RustSource(withMetadata);
    }

    /** A source already validated natively: only projection or limit differ, which cannot make it invalid. */
    private RustSource(RustSourceSpec spec, Boundedness boundedness) {
        this.spec = spec;
        this.boundedness = boundedness;
    }

    /**
     * This source, producing only the given physical fields of its produced type, in that order
     * (metadata columns stay at the end, see {@link RustSourceSpec#withProjection}). The
     * connector is still created with the full row type (options, boundedness and row count are
     * unchanged); native readers encode only the projected columns.
     */
    public RustSource withProjection(int[] fields) {
        return new RustSource(spec.withProjection(fields), boundedness);
    }

    /**
     * This source, with each reader emitting at most {@code limit} rows and then ending its input.
     * Bounded sources only: ending an unbounded source early would change the job's semantics
     * (a finished source emits the final watermark, firing every pending window and timer).
     *
     * @throws IllegalStateException if the source is unbounded
     */
    public RustSource withLimit(long limit) {
        if (boundedness != Boundedness.BOUNDED) {
            throw new IllegalStateException("a limit applies to bounded sources only; " + this + " is unbounded");
        }
        return new RustSource(spec.withLimit(limit), boundedness);
    }

    /** A builder for DataStream programs: {@code RustSource.builder("rust-datagen").option(..).column(..).build()}. */
    public static RustSourceBuilder builder(String connector) {
        return new RustSourceBuilder(connector);
    }

    public RustSourceSpec spec() {
        return spec;
    }

    @Override
    public Boundedness getBoundedness() {
        return boundedness;
    }

    @Override
    public SplitEnumerator<NativeSplit, EnumeratorCheckpoint> createEnumerator(
            SplitEnumeratorContext<NativeSplit> context) {
        return new RustSplitEnumerator(spec, context, null);
    }

    @Override
    public SplitEnumerator<NativeSplit, EnumeratorCheckpoint> restoreEnumerator(
            SplitEnumeratorContext<NativeSplit> context, EnumeratorCheckpoint checkpoint) {
        return new RustSplitEnumerator(spec, context, checkpoint.state());
    }

    @Override
    public SourceReader<RowData, NativeSplit> createReader(SourceReaderContext readerContext) {
        return new RustSourceReader(spec, readerContext);
    }

    @Override
    public SimpleVersionedSerializer<NativeSplit> getSplitSerializer() {
        return NativeSplitSerializer.INSTANCE;
    }

    @Override
    public SimpleVersionedSerializer<EnumeratorCheckpoint> getEnumeratorCheckpointSerializer() {
        return EnumeratorCheckpointSerializer.INSTANCE;
    }

    @Override
    public TypeInformation<RowData> getProducedType() {
        return InternalTypeInfo.of(spec.producedType());
    }

    @Override
    public String toString() {
        return "RustSource{" + spec + ", " + boundedness + "}";
    }
}
