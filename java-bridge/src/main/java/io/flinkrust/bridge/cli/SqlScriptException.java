package io.flinkrust.bridge.cli;

/**
 * A statement of a SQL script failed. The message names the statement's 1-based number, the line
 * of the script it starts on, its first line, and the cause:
 *
 * <pre>
 * Statement 3 (line 12) failed: INSERT INTO sink SELECT * FROM missing
 *   Caused by: org.apache.flink.table.api.ValidationException: SQL validation failed. ...
 * </pre>
 */
public final class SqlScriptException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int statementNumber;
    private final int line;

    SqlScriptException(SqlScript.Statement statement, String reason, Throwable cause) {
        super(format(statement, reason, cause), cause);
        this.statementNumber = statement.number();
        this.line = statement.line();
    }

    /** A script-level problem that belongs to no single statement (statement number and line are 0). */
    SqlScriptException(String message, Throwable cause) {
        super(message, cause);
        this.statementNumber = 0;
        this.line = 0;
    }

    /** The 1-based number of the failed statement (0 if the script itself could not be split). */
    public int statementNumber() {
        return statementNumber;
    }

    /** The 1-based line of the script where the failed statement starts (0 if none). */
    public int line() {
        return line;
    }

    private static String format(SqlScript.Statement statement, String reason, Throwable cause) {
        StringBuilder sb = new StringBuilder();
        sb.append("Statement ").append(statement.number())
                .append(" (line ").append(statement.line()).append(") failed: ")
                .append(statement.firstLine());
        if (reason != null) {
            sb.append("\n  ").append(reason);
        }
        // Each distinct message of the cause chain once: Flink wraps the useful one in generic ones.
        String previous = null;
        int depth = 0;
        for (Throwable c = cause; c != null && depth < 8; c = c.getCause(), depth++) {
            String msg = c.getMessage();
            if (msg == null || msg.isEmpty() || (previous != null && previous.contains(msg))) {
                continue;
            }
            sb.append("\n  Caused by: ").append(c.getClass().getName()).append(": ").append(msg);
            previous = msg;
        }
        return sb.toString();
    }
}
