package io.flinkrust.bridge.row;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonGenerator;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.util.DefaultIndenter;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Iterator;

/**
 * Rewrites the "hex" of every row in {@code testdata/binary-row-vectors.json} with the bytes
 * Flink's {@code BinaryRowWriter} writes for it (see {@link BinaryRowVectorsTest}). Edit the
 * cases' types and values by hand, then run this {@code main} (optional argument: the file) and
 * check both the Java and the Rust vector tests.
 */
public final class BinaryRowVectorGenerator {

    private BinaryRowVectorGenerator() {}

    public static void main(String[] args) throws IOException {
        Path file = args.length > 0 ? Paths.get(args[0]) : BinaryRowVectorsTest.locateVectors();
        JsonNode root = BinaryRowVectorsTest.MAPPER.readTree(file.toFile());
        int rows = 0;
        for (JsonNode caseNode : root.get("cases")) {
            BinaryRowVectorsTest.VectorCase c = new BinaryRowVectorsTest.VectorCase(caseNode);
            BinaryRowVectorsTest.FlinkRowWriter writer =
                    new BinaryRowVectorsTest.FlinkRowWriter(c.types);
            Iterator<JsonNode> rowNodes = caseNode.get("rows").elements();
            for (BinaryRowVectorsTest.VectorRow row : c.rows) {
                ObjectNode rowNode = (ObjectNode) rowNodes.next();
                rowNode.put("hex", BinaryRowVectorsTest.hex(writer.write(row.kind, row.values)));
                rows++;
            }
        }
        String json =
                BinaryRowVectorsTest.MAPPER.writer(new Printer()).writeValueAsString(root) + "\n";
        Files.write(file, json.getBytes(StandardCharsets.UTF_8));
        System.out.println("wrote " + rows + " rows to " + file);
    }

    /** Two-space indented objects, arrays on one line, {@code "key": value}. */
    private static final class Printer extends DefaultPrettyPrinter {
        private static final long serialVersionUID = 1L;

        Printer() {
            indentObjectsWith(new DefaultIndenter("  ", "\n"));
        }

        @Override
        public DefaultPrettyPrinter createInstance() {
            return new Printer();
        }

        @Override
        public void writeObjectFieldValueSeparator(JsonGenerator g) throws IOException {
            g.writeRaw(": ");
        }
    }
}
