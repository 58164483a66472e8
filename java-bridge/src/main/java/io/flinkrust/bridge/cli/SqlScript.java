package io.flinkrust.bridge.cli;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * Splits a SQL script into statements at top-level {@code ;}.
 *
 * <p>A {@code ;} inside a string literal ({@code '...'} with {@code ''} as the escaped quote), a
 * quoted identifier ({@code "..."} or {@code `...`}), a line comment ({@code -- ...}) or a block
 * comment ({@code /* ... *}{@code /}) does not end a statement. Comments and whitespace before a
 * statement are dropped, so each statement's text and line number start at its first token;
 * comments inside a statement are kept (Flink's parser accepts them). Statements that hold only
 * comments or whitespace are skipped and get no number.
 */
public final class SqlScript {
    private SqlScript() {}

    /** One statement of a script: its 1-based number, the 1-based line it starts on, its text without the {@code ;}. */
    public static final class Statement {
        private final int number;
        private final int line;
        private final String text;

        public Statement(int number, int line, String text) {
            this.number = number;
            this.line = line;
            this.text = Objects.requireNonNull(text, "text");
        }

        public int number() {
            return number;
        }

        public int line() {
            return line;
        }

        public String text() {
            return text;
        }

        /** The first line of the text, for messages, with credential option values masked. */
        public String firstLine() {
            int nl = text.indexOf('\n');
            return maskCredentials((nl < 0 ? text : text.substring(0, nl)).trim());
        }

        /**
         * The same statement with its first {@code chars} characters (and the whitespace after them)
         * removed; the line number moves down by the newlines removed.
         */
        Statement dropPrefix(int chars) {
            int i = chars;
            while (i < text.length() && Character.isWhitespace(text.charAt(i))) {
                i++;
            }
            int newlines = 0;
            for (int k = 0; k < i; k++) {
                if (text.charAt(k) == '\n') {
                    newlines++;
                }
            }
            return new Statement(number, line + newlines, text.substring(i).trim());
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Statement)) {
                return false;
            }
            Statement s = (Statement) o;
            return number == s.number && line == s.line && text.equals(s.text);
        }

        @Override
        public int hashCode() {
            return Objects.hash(number, line, text);
        }

        @Override
        public String toString() {
            return "#" + number + " (line " + line + "): " + text;
        }
    }

    /**
     * Splits {@code script} into statements.
     *
     * @throws IllegalArgumentException if the script ends inside a string, a quoted identifier or a
     *     block comment (the message names the line where it was opened)
     */
    public static List<Statement> split(String script) {
        Objects.requireNonNull(script, "script");
        List<Statement> out = new ArrayList<>();
        int n = script.length();
        int line = 1;
        int start = -1; // offset of the current statement's first token, -1 while none yet
        int startLine = 0;
        int i = 0;
        while (i < n) {
            char c = script.charAt(i);
            char next = i + 1 < n ? script.charAt(i + 1) : '\0';
            if (c == '\n') {
                line++;
                i++;
            } else if (c == '-' && next == '-') {
                // Line comment: up to, not including, the newline.
                while (i < n && script.charAt(i) != '\n') {
                    i++;
                }
            } else if (c == '/' && next == '*') {
                int openLine = line;
                int end = script.indexOf("*/", i + 2);
                if (end < 0) {
                    throw new IllegalArgumentException("Unterminated comment '/*' opened at line " + openLine + ".");
                }
                if (start < 0 && isHint(script, i)) {
                    start = i;
                    startLine = line;
                }
                line += count(script, '\n', i, end + 2);
                i = end + 2;
            } else if (c == '\'' || c == '"' || c == '`') {
                if (start < 0) {
                    start = i;
                    startLine = line;
                }
                int openLine = line;
                int j = i + 1;
                while (true) {
                    if (j >= n) {
                        throw new IllegalArgumentException("Unterminated " + describeQuote(c) + " opened at line " + openLine + ".");
                    }
                    char q = script.charAt(j);
                    if (q == c) {
                        if (j + 1 < n && script.charAt(j + 1) == c) {
                            j += 2; // doubled quote: an escaped quote character
                            continue;
                        }
                        break;
                    }
                    if (q == '\n') {
                        line++;
                    }
                    j++;
                }
                i = j + 1;
            } else if (c == ';') {
                if (start >= 0) {
                    out.add(new Statement(out.size() + 1, startLine, script.substring(start, i).trim()));
                    start = -1;
                }
                i++;
            } else {
                if (start < 0 && !Character.isWhitespace(c)) {
                    start = i;
                    startLine = line;
                }
                i++;
            }
        }
        if (start >= 0) {
            String rest = script.substring(start).trim();
            if (!rest.isEmpty()) {
                out.add(new Statement(out.size() + 1, startLine, rest));
            }
        }
        return Collections.unmodifiableList(out);
    }

    private static boolean isHint(String s, int i) {
        return i + 2 < s.length() && s.charAt(i + 2) == '+';
    }

    private static int count(String s, char ch, int from, int to) {
        int k = 0;
        for (int i = from; i < to; i++) {
            if (s.charAt(i) == ch) {
                k++;
            }
        }
        return k;
    }

    private static String describeQuote(char c) {
        switch (c) {
            case '\'':
                return "string literal (')";
            case '"':
                return "quoted identifier (\")";
            default:
                return "quoted identifier (`)";
        }
    }

    /** {@code 'key' = 'value'} in SQL (quotes doubled inside). */
    private static final java.util.regex.Pattern OPTION =
            java.util.regex.Pattern.compile("'((?:[^']|'')*)'(\\s*=\\s*)'(?:[^']|'')*'");

    /**
     * The SQL with the value of every {@code 'key' = 'value'} whose key names a credential
     * ({@link io.flinkrust.bridge.source.RustSourceSpec#isSensitiveKey}) replaced by
     * {@code '******'}: statements are quoted in error messages, which end up in logs.
     */
    static String maskCredentials(String sql) {
        java.util.regex.Matcher m = OPTION.matcher(sql);
        StringBuilder out = new StringBuilder();
        int at = 0;
        while (m.find()) {
            if (io.flinkrust.bridge.source.RustSourceSpec.isSensitiveKey(m.group(1))) {
                out.append(sql, at, m.start()).append('\'').append(m.group(1)).append('\'').append(m.group(2))
                        .append("'******'");
                at = m.end();
            }
        }
        return out.append(sql.substring(at)).toString();
    }
}
