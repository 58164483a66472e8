package io.flinkrust.bridge.row;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.MemorySegmentFactory;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.table.data.ArrayData;
import org.apache.flink.table.data.DecimalData;
import org.apache.flink.table.data.GenericArrayData;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.data.binary.BinaryRowData;
import org.apache.flink.table.data.binary.BinarySegmentUtils;
import org.apache.flink.table.data.writer.BinaryRowWriter;
import org.apache.flink.table.data.writer.BinaryWriter;
import org.apache.flink.table.runtime.typeutils.InternalSerializers;
import org.apache.flink.table.runtime.typeutils.RowDataSerializer;
import org.apache.flink.table.types.logical.ArrayType;
import org.apache.flink.table.types.logical.DecimalType;
import org.apache.flink.table.types.logical.LocalZonedTimestampType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.TimestampType;
import org.apache.flink.table.types.logical.utils.LogicalTypeParser;
import org.apache.flink.types.RowKind;
import org.apache.flink.util.StringUtils;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Checks the shared BinaryRowData test vectors ({@code testdata/binary-row-vectors.json}) against
 * Flink's own {@link BinaryRowWriter}. The Rust test {@code rust-core/tests/binary_row_vectors.rs}
 * checks the same vectors against the Rust encoder, so together they prove the Rust bytes are the
 * bytes Flink writes.
 *
 * <p>Each row is written the way {@link RowDataSerializer#toBinaryRow} writes it (row kind, then
 * {@link BinaryWriter#write} per non-null field), except that a NULL DECIMAL(p > 18) or TIMESTAMP(p
 * > 3) goes through {@code writeDecimal(pos, null, p)} / {@code writeTimestamp(pos, null, p)}, as
 * Flink's generated projections do ({@code CodeGenUtils.binaryWriterWriteNull}): that reserves the
 * field's variable-length bytes so it can be updated in place. {@code toBinaryRow} uses plain
 * {@code setNullAt} there; for those rows this test checks that both forms read back the same.
 */
class BinaryRowVectorsTest {

    static final String VECTORS_FILE = "testdata/binary-row-vectors.json";
    static final ObjectMapper MAPPER = new ObjectMapper();

    /** One case of the vectors file: a row type and rows of it. */
    static final class VectorCase {
        final String name;
        final LogicalType[] types;
        final List<VectorRow> rows = new ArrayList<>();

        VectorCase(JsonNode node) {
            this.name = node.get("name").asText();
            JsonNode typeNodes = node.get("types");
            this.types = new LogicalType[typeNodes.size()];
            for (int i = 0; i < types.length; i++) {
                types[i] =
                        LogicalTypeParser.parse(
                                typeNodes.get(i).asText(), VectorCase.class.getClassLoader());
            }
            for (JsonNode rowNode : node.get("rows")) {
                rows.add(new VectorRow(rowNode, types));
            }
        }
    }

    /** One row: kind, values as Flink internal data structures, and the expected hex. */
    static final class VectorRow {
        final RowKind kind;
        final Object[] values;
        final String hex;

        VectorRow(JsonNode node, LogicalType[] types) {
            this.kind = RowKind.valueOf(node.get("kind").asText());
            JsonNode valueNodes = node.get("values");
            if (valueNodes.size() != types.length) {
                throw new IllegalArgumentException(
                        valueNodes.size() + " values for " + types.length + " columns: " + node);
            }
            this.values = new Object[types.length];
            for (int i = 0; i < types.length; i++) {
                values[i] = toInternal(valueNodes.get(i), types[i]);
            }
            JsonNode hexNode = node.get("hex");
            this.hex = hexNode == null ? "" : hexNode.asText();
        }
    }

    static Path locateVectors() {
        String override = System.getProperty("binary.row.vectors");
        if (override != null) {
            return Paths.get(override);
        }
        for (Path dir = Paths.get("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve(VECTORS_FILE);
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException(
                "cannot find " + VECTORS_FILE + " in " + Paths.get("").toAbsolutePath() + " or above");
    }

    static List<VectorCase> readCases(JsonNode root) {
        List<VectorCase> cases = new ArrayList<>();
        for (JsonNode caseNode : root.get("cases")) {
            cases.add(new VectorCase(caseNode));
        }
        return cases;
    }

    /** A JSON value (see the file's "format" section) as the internal data structure of its type. */
    static Object toInternal(JsonNode v, LogicalType type) {
        if (v == null || v.isNull()) {
            return null;
        }
        switch (type.getTypeRoot()) {
            case BOOLEAN:
                return expect(v, v.isBoolean(), type).booleanValue();
            case TINYINT:
                return (byte) checkedInt(v, type, Byte.MIN_VALUE, Byte.MAX_VALUE);
            case SMALLINT:
                return (short) checkedInt(v, type, Short.MIN_VALUE, Short.MAX_VALUE);
            case INTEGER:
            case DATE:
            case TIME_WITHOUT_TIME_ZONE:
                return (int) checkedInt(v, type, Integer.MIN_VALUE, Integer.MAX_VALUE);
            case BIGINT:
                return expect(v, v.canConvertToLong() && v.isIntegralNumber(), type).longValue();
            case FLOAT:
                if (v.isTextual()) {
                    String s = v.asText();
                    return s.startsWith("0x")
                            ? Float.intBitsToFloat(Integer.parseUnsignedInt(s.substring(2), 16))
                            : Float.parseFloat(s);
                }
                return (float) expect(v, v.isNumber(), type).doubleValue();
            case DOUBLE:
                if (v.isTextual()) {
                    String s = v.asText();
                    return s.startsWith("0x")
                            ? Double.longBitsToDouble(Long.parseUnsignedLong(s.substring(2), 16))
                            : Double.parseDouble(s);
                }
                return expect(v, v.isNumber(), type).doubleValue();
            case DECIMAL:
                {
                    DecimalType dt = (DecimalType) type;
                    BigDecimal bd = new BigDecimal(expect(v, v.isTextual(), type).asText());
                    if (bd.scale() > dt.getScale()) {
                        throw new IllegalArgumentException(v + " has more fraction digits than " + type);
                    }
                    DecimalData d = DecimalData.fromBigDecimal(bd, dt.getPrecision(), dt.getScale());
                    if (d == null) {
                        throw new IllegalArgumentException(v + " does not fit " + type);
                    }
                    return d;
                }
            case CHAR:
            case VARCHAR:
                return StringData.fromString(expect(v, v.isTextual(), type).asText());
            case BINARY:
            case VARBINARY:
                return StringUtils.hexStringToByte(expect(v, v.isTextual(), type).asText());
            case TIMESTAMP_WITHOUT_TIME_ZONE:
            case TIMESTAMP_WITH_LOCAL_TIME_ZONE:
                {
                    expect(v, v.isObject() && v.has("millis") && v.has("nanoOfMilli"), type);
                    int nanos = v.get("nanoOfMilli").intValue();
                    if (nanos < 0 || nanos > 999_999) {
                        throw new IllegalArgumentException("nanoOfMilli out of range: " + v);
                    }
                    return TimestampData.fromEpochMillis(v.get("millis").longValue(), nanos);
                }
            case ARRAY:
                {
                    expect(v, v.isArray(), type);
                    LogicalType elementType = ((ArrayType) type).getElementType();
                    Object[] elements = new Object[v.size()];
                    for (int i = 0; i < elements.length; i++) {
                        elements[i] = toInternal(v.get(i), elementType);
                    }
                    return new GenericArrayData(elements);
                }
            default:
                throw new IllegalArgumentException("type not covered by the vectors: " + type);
        }
    }

    private static JsonNode expect(JsonNode v, boolean ok, LogicalType type) {
        if (!ok) {
            throw new IllegalArgumentException("bad JSON value " + v + " for " + type);
        }
        return v;
    }

    private static long checkedInt(JsonNode v, LogicalType type, long min, long max) {
        expect(v, v.isIntegralNumber() && v.canConvertToLong(), type);
        long l = v.longValue();
        if (l < min || l > max) {
            throw new IllegalArgumentException(v + " out of range for " + type);
        }
        return l;
    }

    static boolean isWideDecimalOrTimestamp(LogicalType type) {
        switch (type.getTypeRoot()) {
            case DECIMAL:
                return !DecimalData.isCompact(((DecimalType) type).getPrecision());
            case TIMESTAMP_WITHOUT_TIME_ZONE:
                return !TimestampData.isCompact(((TimestampType) type).getPrecision());
            case TIMESTAMP_WITH_LOCAL_TIME_ZONE:
                return !TimestampData.isCompact(((LocalZonedTimestampType) type).getPrecision());
            default:
                return false;
        }
    }

    static int precisionOf(LogicalType type) {
        switch (type.getTypeRoot()) {
            case DECIMAL:
                return ((DecimalType) type).getPrecision();
            case TIMESTAMP_WITHOUT_TIME_ZONE:
                return ((TimestampType) type).getPrecision();
            case TIMESTAMP_WITH_LOCAL_TIME_ZONE:
                return ((LocalZonedTimestampType) type).getPrecision();
            default:
                throw new IllegalArgumentException(type.toString());
        }
    }

    /** Writes rows of one type with one reused writer, as {@code RowDataSerializer} does. */
    static final class FlinkRowWriter {
        private final LogicalType[] types;
        private final TypeSerializer<?>[] serializers;
        private final BinaryRowData row;
        private final BinaryRowWriter writer;

        FlinkRowWriter(LogicalType[] types) {
            this.types = types;
            this.serializers = new TypeSerializer<?>[types.length];
            for (int i = 0; i < types.length; i++) {
                serializers[i] = InternalSerializers.create(types[i]);
            }
            this.row = new BinaryRowData(types.length);
            this.writer = new BinaryRowWriter(row);
        }

        @SuppressWarnings("deprecation")
        byte[] write(RowKind kind, Object[] values) {
            writer.reset();
            writer.writeRowKind(kind);
            for (int i = 0; i < types.length; i++) {
                if (values[i] == null) {
                    if (isWideDecimalOrTimestamp(types[i])) {
                        // CodeGenUtils.binaryWriterWriteNull: keep the variable-length bytes.
                        if (types[i] instanceof DecimalType) {
                            writer.writeDecimal(i, null, precisionOf(types[i]));
                        } else {
                            writer.writeTimestamp(i, null, precisionOf(types[i]));
                        }
                    } else {
                        writer.setNullAt(i);
                    }
                } else {
                    BinaryWriter.write(writer, i, values[i], types[i], serializers[i]);
                }
            }
            writer.complete();
            return bytesOf(row);
        }
    }

    static byte[] bytesOf(BinaryRowData row) {
        return BinarySegmentUtils.copyToBytes(
                row.getSegments(), row.getOffset(), row.getSizeInBytes());
    }

    static String hex(byte[] bytes) {
        return StringUtils.byteToHexString(bytes).toLowerCase(Locale.ROOT);
    }

    @TestFactory
    List<DynamicTest> flinkWriterProducesTheVectorBytes() throws IOException {
        Path file = locateVectors();
        List<VectorCase> cases = readCases(MAPPER.readTree(file.toFile()));
        assertThat(cases).isNotEmpty();
        List<DynamicTest> tests = new ArrayList<>();
        for (VectorCase c : cases) {
            FlinkRowWriter reused = new FlinkRowWriter(c.types);
            RowDataSerializer serializer = new RowDataSerializer(c.types);
            for (int r = 0; r < c.rows.size(); r++) {
                VectorRow row = c.rows.get(r);
                // Written here, in file order, so the reused writer sees the rows in sequence.
                byte[] reusedBytes = reused.write(row.kind, row.values);
                byte[] freshBytes = new FlinkRowWriter(c.types).write(row.kind, row.values);
                // toBinaryRow reuses its row: copy the bytes out at once.
                byte[] serializerBytes =
                        bytesOf(serializer.toBinaryRow(GenericRowData.ofKind(row.kind, row.values)));
                tests.add(
                        DynamicTest.dynamicTest(
                                c.name + " row " + r,
                                () -> checkRow(c, row, reusedBytes, freshBytes, serializerBytes)));
            }
        }
        return tests;
    }

    private static void checkRow(
            VectorCase c, VectorRow row, byte[] reusedBytes, byte[] freshBytes, byte[] serializerBytes) {
        assertThat(row.hex)
                .as("missing hex: run BinaryRowVectorGenerator to fill it in")
                .isNotEmpty();
        assertThat(hex(reusedBytes)).as("BinaryRowWriter (reused)").isEqualTo(row.hex);
        assertThat(hex(freshBytes)).as("BinaryRowWriter (fresh)").isEqualTo(row.hex);
        assertThat(reusedBytes.length % 8).as("row size is word-aligned").isZero();

        // The expected bytes read back as the input values.
        BinaryRowData expected = pointTo(StringUtils.hexStringToByte(row.hex), c.types.length);
        assertReadsBack(c, row, expected);

        boolean reservesNulls = false;
        for (int i = 0; i < c.types.length; i++) {
            reservesNulls |= row.values[i] == null && isWideDecimalOrTimestamp(c.types[i]);
        }
        if (reservesNulls) {
            // toBinaryRow writes setNullAt here: other bytes, same row.
            assertReadsBack(c, row, pointTo(serializerBytes, c.types.length));
        } else {
            assertThat(hex(serializerBytes)).as("RowDataSerializer#toBinaryRow").isEqualTo(row.hex);
        }
    }

    private static Object[] elementsOf(ArrayData array, ArrayType type) {
        ArrayData.ElementGetter getter = ArrayData.createElementGetter(type.getElementType());
        Object[] elements = new Object[array.size()];
        for (int i = 0; i < elements.length; i++) {
            elements[i] = getter.getElementOrNull(array, i);
        }
        return elements;
    }

    private static BinaryRowData pointTo(byte[] bytes, int arity) {
        BinaryRowData row = new BinaryRowData(arity);
        row.pointTo(MemorySegmentFactory.wrap(bytes), 0, bytes.length);
        return row;
    }

    private static void assertReadsBack(VectorCase c, VectorRow row, BinaryRowData binary) {
        assertThat(binary.getRowKind()).isEqualTo(row.kind);
        for (int i = 0; i < c.types.length; i++) {
            Object expected = row.values[i];
            assertThat(binary.isNullAt(i)).as("field %d null", i).isEqualTo(expected == null);
            Object actual = RowData.createFieldGetter(c.types[i], i).getFieldOrNull(binary);
            boolean same;
            if (expected instanceof byte[]) {
                same = Arrays.equals((byte[]) expected, (byte[]) actual);
            } else if (expected instanceof GenericArrayData) {
                // Read through Flink's BinaryArrayData, element by element.
                same =
                        Arrays.equals(
                                ((GenericArrayData) expected).toObjectArray(),
                                elementsOf((ArrayData) actual, (ArrayType) c.types[i]));
                actual = Arrays.toString(elementsOf((ArrayData) actual, (ArrayType) c.types[i]));
            } else {
                same = Objects.equals(expected, actual);
            }
            assertThat(same)
                    .as("field %d (%s): expected %s, read %s", i, c.types[i], expected, actual)
                    .isTrue();
        }
    }
}
