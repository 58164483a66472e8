package io.flinkrust.bridge.cli;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Splitting scripts into statements: quotes, comments, line numbers. */
class SqlScriptTest {

    private static List<String> texts(String script) {
        return SqlScript.split(script).stream().map(SqlScript.Statement::text).collect(Collectors.toList());
    }

    @Test
    void firstLinesInMessagesMaskCredentials() {
        String sql = "CREATE TABLE t (id INT) WITH ('connector' = 'rust-mysql-cdc', 'password'='p''w-S3cret',"
                + " 'debezium.database.PASSWORD' = 'x', 'username' = 'u')";
        String line = SqlScript.split(sql + ";").get(0).firstLine();
        assertThat(line).doesNotContain("S3cret").doesNotContain("'x'")
                .contains("'password'='******'").contains("'debezium.database.PASSWORD' = '******'")
                .contains("'username' = 'u'").contains("'connector' = 'rust-mysql-cdc'");
    }

    @Test
    void splitsAtTopLevelSemicolonsAndNumbersStatements() {
        List<SqlScript.Statement> st = SqlScript.split("SET 'a' = 'b';\nCREATE TABLE t (x INT);\n\nINSERT INTO t VALUES (1)");
        assertThat(st).containsExactly(
                new SqlScript.Statement(1, 1, "SET 'a' = 'b'"),
                new SqlScript.Statement(2, 2, "CREATE TABLE t (x INT)"),
                new SqlScript.Statement(3, 4, "INSERT INTO t VALUES (1)"));
    }

    @Test
    void semicolonsInsideStringsAndQuotedIdentifiersDoNotSplit() {
        assertThat(texts("SELECT 'a;b', 'it''s; fine', \"col;1\", `col;2` FROM t; SELECT 1"))
                .containsExactly("SELECT 'a;b', 'it''s; fine', \"col;1\", `col;2` FROM t", "SELECT 1");
    }

    @Test
    void semicolonsInsideCommentsDoNotSplitAndLeadingCommentsAreDropped() {
        String script = "-- header; with a semicolon\n"
                + "/* block; comment\n spanning; lines */\n"
                + "CREATE TABLE t ( -- inner; comment\n"
                + "  x INT /* ; */\n"
                + ");\n"
                + "-- only a comment;\n"
                + ";;\n"
                + "SELECT x FROM t; -- trailing\n";
        List<SqlScript.Statement> st = SqlScript.split(script);
        assertThat(st).hasSize(2);
        assertThat(st.get(0).number()).isEqualTo(1);
        assertThat(st.get(0).line()).isEqualTo(4);
        assertThat(st.get(0).text()).isEqualTo("CREATE TABLE t ( -- inner; comment\n  x INT /* ; */\n)");
        assertThat(st.get(0).firstLine()).isEqualTo("CREATE TABLE t ( -- inner; comment");
        assertThat(st.get(1)).isEqualTo(new SqlScript.Statement(2, 9, "SELECT x FROM t"));
    }

    @Test
    void multiLineStringsCountLines() {
        List<SqlScript.Statement> st = SqlScript.split("SELECT 'one\ntwo\nthree';\nSELECT 2;");
        assertThat(st.get(1).line()).isEqualTo(4);
    }

    @Test
    void dashesAndSlashesInsideStringsAreNotComments() {
        assertThat(texts("SELECT '--not a comment; really', '/* nor; this */' FROM t; SELECT 2"))
                .containsExactly("SELECT '--not a comment; really', '/* nor; this */' FROM t", "SELECT 2");
    }

    @Test
    void statementSetPiecesAreSeparateStatements() {
        assertThat(texts("EXECUTE STATEMENT SET BEGIN\n INSERT INTO a SELECT 1;\n INSERT INTO b SELECT 2;\nEND;"))
                .containsExactly("EXECUTE STATEMENT SET BEGIN\n INSERT INTO a SELECT 1", "INSERT INTO b SELECT 2", "END");
    }

    @Test
    void dropPrefixMovesTheLine() {
        SqlScript.Statement st = new SqlScript.Statement(3, 10, "EXECUTE STATEMENT SET BEGIN\n\n  INSERT INTO a SELECT 1");
        assertThat(st.dropPrefix("EXECUTE STATEMENT SET BEGIN".length()))
                .isEqualTo(new SqlScript.Statement(3, 12, "INSERT INTO a SELECT 1"));
    }

    @Test
    void emptyAndCommentOnlyScriptsHaveNoStatements() {
        assertThat(SqlScript.split("")).isEmpty();
        assertThat(SqlScript.split("  \n-- nothing;\n/* here; */ ;\n")).isEmpty();
    }

    @Test
    void unterminatedQuotesAndCommentsNameTheirLine() {
        assertThatThrownBy(() -> SqlScript.split("SELECT 1;\nSELECT 'open;\n"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("string literal").hasMessageContaining("line 2");
        assertThatThrownBy(() -> SqlScript.split("SELECT 1;\n\n/* open"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("comment").hasMessageContaining("line 3");
    }
}
