package io.flinkrust.bridge.source;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.flinkrust.bridge.source.RustSourceReaderTest.allSplits;
import static io.flinkrust.bridge.source.RustSourceReaderTest.testkit;
import static org.assertj.core.api.Assertions.assertThat;

/** The Java enumerator over a native one, against a context as strict as Flink's. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RustSplitEnumeratorTest {

    /**
     * Flink drops a failed attempt's reader at once but resets the subtask (addSplitsBack) only
     * later; in between, the native enumerator still counts the reader as registered. Here both
     * readers wait for async split discovery when reader 1's attempt fails, and discovery then
     * serves both. Before the fix, the assignment to reader 1 threw and failed the job; now its
     * split goes back to the native enumerator and reaches reader 1's next attempt.
     */
    @Test
    void splitsForAReaderFlinkDroppedGoBackAndReachItsNextAttempt() throws Exception {
        RustSourceSpec spec = testkit("rows", "20", "splits", "2", "discovery", "async");
        FakeEnumeratorContext context = new FakeEnumeratorContext(2);
        try (RustSplitEnumerator enumerator = new RustSplitEnumerator(spec, context, null)) {
            enumerator.start();
            for (int subtask = 0; subtask < 2; subtask++) {
                context.registerReader(subtask);
                enumerator.addReader(subtask);
                enumerator.handleSplitRequest(subtask, "localhost");
            }
            assertThat(context.assigned).isEmpty();

            context.unregisterReader(1);
            context.runNextAsync();
            assertThat(context.assigned.keySet()).containsExactly(0);
            assertThat(context.assigned.get(0)).hasSize(1);

            // Flink resets the subtask (nothing was assigned to it), and its next attempt asks.
            enumerator.addSplitsBack(List.of(), 1);
            context.registerReader(1);
            enumerator.addReader(1);
            enumerator.handleSplitRequest(1, "localhost");
            assertThat(context.assigned.get(1)).hasSize(1);

            List<NativeSplit> all = new ArrayList<>(context.assigned.get(0));
            all.addAll(context.assigned.get(1));
            assertThat(all).containsExactlyInAnyOrderElementsOf(allSplits(testkit("rows", "20", "splits", "2")));

            // Told "no more splits" while not registered: not signalled (Flink would throw); it
            // asks again once registered and is told then.
            context.unregisterReader(0);
            enumerator.handleSplitRequest(0, "localhost");
            assertThat(context.noMoreSplits).isEmpty();
            context.registerReader(0);
            enumerator.handleSplitRequest(0, "localhost");
            assertThat(context.noMoreSplits).containsExactly(0);
        }
    }
}
