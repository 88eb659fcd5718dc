using PSMigration.Core.Planning;

namespace PSMigration.Core.Tests;

/// <summary>The pre-copy model behind -Predict: a quiet guest converges in a few passes; one that out-dirties the link
/// does not, and the prediction names what would finish it (the policy's action, else autoConverge), with the numbers.</summary>
public class ConvergencePredictionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static MigrationPlan Plan(string policy = "{ maxDowntimeMs: 300 }") => InventoryBuilder.TwoHosts().ClusterPolicy(policy).Plan();

    [Fact]
    public void A_quiet_guest_converges_in_a_few_passes_sending_a_little_more_than_its_RAM()
    {
        // 4 GiB at 10 Gbit/s (1250 MB/s), dirtying 50 MB/s: pass 1 takes 3.4 s; the 172 MB it let the guest dirty fit in
        // 300 ms (375 MB at that rate), so pass 2 is the last, with the guest stopped
        var prediction = ConvergencePrediction.Predict(4096, 50, 10, Plan(), Timeout);

        Assert.True(prediction.Converges);
        Assert.Equal(ConvergenceAction.None, prediction.ActionNeeded);
        Assert.Equal(2, prediction.Passes);
        Assert.InRange(prediction.TotalSeconds, 3.5, 3.7);
        Assert.InRange(prediction.Bytes, 4096L * 1048576, 4096L * 1048576 + 200_000_000);
        Assert.True(prediction.ExpectedDowntimeMs <= 300);
        Assert.Contains("converges in 2 passes", prediction.Reason);
    }

    [Fact]
    public void A_guest_that_dirties_faster_than_the_link_does_not_converge_and_is_told_what_would_finish_it()
    {
        // 1 GiB at 1 Gbit/s (125 MB/s), dirtying 400 MB/s: no pass ever shrinks below the RAM
        var cancel = ConvergencePrediction.Predict(1024, 400, 1, Plan(), Timeout);
        Assert.False(cancel.Converges);
        Assert.Equal(ConvergenceAction.AutoConverge, cancel.ActionNeeded); // the mildest that would
        Assert.Contains("cancelled at its timeout (120 s): set autoConverge: true, or timeoutAction: pause or postcopy", cancel.Reason);

        var pause = ConvergencePrediction.Predict(1024, 400, 1, Plan("{ timeoutAction: pause }"), Timeout);
        Assert.True(pause.Converges);
        Assert.Equal(ConvergenceAction.Pause, pause.ActionNeeded);
        Assert.InRange(pause.ExpectedDowntimeMs, 8000, 9000); // the whole RAM is dirty again: 1 GiB at 125 MB/s
        Assert.InRange(pause.TotalSeconds, 120, 140);

        var postcopy = ConvergencePrediction.Predict(1024, 400, 1, Plan("{ postcopy: true, timeoutAction: postcopy }"), Timeout);
        Assert.Equal(ConvergenceAction.Postcopy, postcopy.ActionNeeded);
        Assert.Equal(300, postcopy.ExpectedDowntimeMs);
    }

    [Fact]
    public void Auto_converge_throttles_the_busy_guest_into_converging_and_says_how_far()
    {
        // 1 GiB at 1 Gbit/s dirtying 400 MB/s: each pass sends all of RAM (8.6 s) until the throttle holds the guest under
        // half the link, about 90%: QEMU raises it (20%, then 10% more) only after every second pass that dirtied too much
        var prediction = ConvergencePrediction.Predict(1024, 400, 1, Plan("{ autoConverge: true }"), TimeSpan.FromSeconds(600));

        Assert.True(prediction.Converges);
        Assert.Equal(ConvergenceAction.AutoConverge, prediction.ActionNeeded);
        Assert.InRange(prediction.Passes, 16, 30); // two passes per step from 20% to 90%
        Assert.Matches(@"throttle \(up to (9\d)%\)", prediction.Reason);
    }

    [Fact]
    public void Auto_converge_that_would_need_longer_than_the_timeout_is_not_predicted_to_converge()
    {
        var prediction = ConvergencePrediction.Predict(1024, 400, 1, Plan("{ autoConverge: true }"), Timeout);

        Assert.False(prediction.Converges);
        Assert.Matches(@"autoConverge's throttle would need about \d+ s \(\d+ passes, up to \d+%\), past the timeout", prediction.Reason);
        Assert.Contains("cancelled at its timeout (120 s): give it longer (completionTimeoutPerGiB), or set timeoutAction: pause or postcopy", prediction.Reason);
    }

    [Fact]
    public void A_measured_bandwidth_changes_the_answer()
    {
        Assert.False(ConvergencePrediction.Predict(2048, 200, 1, Plan(), Timeout).Converges);
        Assert.True(ConvergencePrediction.Predict(2048, 200, 25, Plan(), Timeout).Converges);
    }
}
