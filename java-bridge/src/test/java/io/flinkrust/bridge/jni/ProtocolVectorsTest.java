package io.flinkrust.bridge.jni;

import io.flinkrust.bridge.source.NativeSplit;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.util.StringUtils;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Checks the Java side of the Rust-Java byte protocol against the shared vectors in
 * {@code testdata/protocol-vectors.json} (written from rust-core/src/protocol.rs's documented
 * layout by {@code scripts/protocol-vectors.py}; {@code rust-core/tests/protocol_vectors.rs}
 * checks the Rust side): split lists encode and decode to the bytes, and enumerator commands and
 * reader responses decode from them to the cases' fields.
 */
class ProtocolVectorsTest {
    private static final String VECTORS_FILE = "testdata/protocol-vectors.json";

    private static JsonNode vectors() throws IOException {
        for (Path dir = Paths.get("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve(VECTORS_FILE);
            if (Files.isRegularFile(candidate)) {
                return new ObjectMapper().readTree(candidate.toFile());
            }
        }
        throw new IllegalStateException("cannot find " + VECTORS_FILE + " in the working directory or above");
    }

    private static Iterable<JsonNode> cases(String section) throws IOException {
        JsonNode cases = vectors().get(section);
        assertThat(cases.size()).as("%s has cases", section).isPositive();
        return cases;
    }

    private static byte[] hex(JsonNode node) {
        return StringUtils.hexStringToByte(node.asText());
    }

    private static String hex(byte[] bytes) {
        return StringUtils.byteToHexString(bytes).toLowerCase(Locale.ROOT);
    }

    private static List<NativeSplit> splits(JsonNode list) {
        List<NativeSplit> out = new ArrayList<>();
        for (JsonNode s : list) {
            out.add(new NativeSplit(s.get("id").asText(), hex(s.get("state"))));
        }
        return out;
    }

    @Test
    void splitListsEncodeAndDecodeToTheSharedBytes() throws IOException {
        for (JsonNode c : cases("split_lists")) {
            String name = c.get("name").asText();
            List<NativeSplit> expected = splits(c.get("splits"));
            assertThat(hex(SplitListCodec.encode(expected))).as(name).isEqualTo(c.get("hex").asText());
            assertThat(SplitListCodec.decode(hex(c.get("hex")))).as(name).isEqualTo(expected);
        }
    }

    @Test
    void enumeratorCommandsDecodeFromTheSharedBytes() throws IOException {
        for (JsonNode c : cases("enumerator_commands")) {
            String name = c.get("name").asText();
            List<EnumeratorCommand> parsed = EnumeratorCommand.parse(hex(c.get("hex")));
            assertThat(parsed).as(name).hasSize(c.get("commands").size());
            for (int i = 0; i < parsed.size(); i++) {
                Map.Entry<String, JsonNode> expected = c.get("commands").get(i).fields().next();
                JsonNode f = expected.getValue();
                EnumeratorCommand command = parsed.get(i);
                String what = name + " #" + i + " " + expected.getKey();
                switch (expected.getKey()) {
                    case "assign":
                        assertThat(command).as(what).isInstanceOf(EnumeratorCommand.AssignSplits.class);
                        EnumeratorCommand.AssignSplits assign = (EnumeratorCommand.AssignSplits) command;
                        assertThat(assign.subtask()).as(what).isEqualTo(f.get("subtask").asInt());
                        assertThat(assign.splits()).as(what).isEqualTo(splits(f.get("splits")));
                        break;
                    case "no_more_splits":
                        assertThat(command).as(what).isInstanceOf(EnumeratorCommand.SignalNoMoreSplits.class);
                        assertThat(((EnumeratorCommand.SignalNoMoreSplits) command).subtask())
                                .as(what).isEqualTo(f.get("subtask").asInt());
                        break;
                    case "send_event":
                        assertThat(command).as(what).isInstanceOf(EnumeratorCommand.SendEvent.class);
                        EnumeratorCommand.SendEvent event = (EnumeratorCommand.SendEvent) command;
                        assertThat(event.subtask()).as(what).isEqualTo(f.get("subtask").asInt());
                        assertThat(hex(event.event())).as(what).isEqualTo(f.get("event").asText());
                        break;
                    case "call_async":
                        assertThat(command).as(what).isInstanceOf(EnumeratorCommand.CallAsync.class);
                        EnumeratorCommand.CallAsync call = (EnumeratorCommand.CallAsync) command;
                        assertThat(call.taskId()).as(what).isEqualTo(f.get("task_id").asLong());
                        assertThat(call.initialDelayMillis()).as(what).isEqualTo(f.get("initial_delay_ms").asLong());
                        assertThat(call.periodMillis()).as(what).isEqualTo(f.get("period_ms").asLong());
                        assertThat(call.isPeriodic()).as(what).isEqualTo(f.get("period_ms").asLong() > 0);
                        break;
                    default:
                        throw new AssertionError(name + ": unknown command " + expected.getKey());
                }
            }
        }
    }

    @Test
    void readerResponsesDecodeFromTheSharedBytes() throws IOException {
        for (JsonNode c : cases("reader_responses")) {
            String name = c.get("name").asText();
            ReaderResponse r = ReaderResponse.parse(hex(c.get("hex")));
            int flags = c.get("flags").asInt();
            assertThat(r.status()).as(name).isEqualTo(c.get("status").asInt());
            assertThat(r.requestsSplit()).as(name).isEqualTo((flags & ReaderResponse.FLAG_REQUEST_SPLIT) != 0);
            assertThat(r.metricsChanged()).as(name).isEqualTo((flags & ReaderResponse.FLAG_METRICS_CHANGED) != 0);
            assertThat(r.epoch()).as(name).isEqualTo(c.get("epoch").asLong());
            assertThat(r.retryAfterNanos()).as(name).isEqualTo(c.get("retry_after_nanos").asLong());
            assertThat(r.eventTime()).as(name).isEqualTo(c.get("event_time").asLong());
            List<String> events = new ArrayList<>();
            r.events().forEach(e -> events.add(hex(e)));
            List<String> expectedEvents = new ArrayList<>();
            c.get("events").forEach(e -> expectedEvents.add(e.asText()));
            assertThat(events).as(name).isEqualTo(expectedEvents);
            assertThat(r.rowCount()).as(name).isEqualTo(c.get("rows").size());
            for (int i = 0; i < r.rowCount(); i++) {
                byte[] row = java.util.Arrays.copyOfRange(r.bytes(), r.rowOffset(i), r.rowOffset(i + 1));
                assertThat(hex(row)).as(name + " row " + i).isEqualTo(c.get("rows").get(i).asText());
            }
        }
    }
}
