using System.Collections.Concurrent;
using System.Text.Json;
using PSMigration.Core.Diagnostics;
using PSMigration.Engine.Agent;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Tests;

/// <summary>A caller on another host has the source's agent run a migration (<see cref="SourceAgentCall"/> ->
/// OutgoingHandler -> <see cref="IOutgoingMigrations"/>): the caller sees its progress, its story and its result;
/// cancelling reaches the migration, which still answers; a refusal comes back as the agent's reason. What a
/// migration is, the engine does not read: here a scripted one stands for psmig's.</summary>
public sealed class OutgoingMigrationTests
{
    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

    [Fact]
    public async Task The_caller_sees_the_migrations_progress_story_and_result()
    {
        var migrations = new ScriptedMigrations(async (vm, request, caller, progress, story, cancel) =>
        {
            story.Verbose($"{vm}: migrating for {caller} to {request.GetProperty("destination").GetString()}");
            story.Debug("a protocol line");
            for (var percent = 25; percent <= 100; percent += 25)
            {
                progress(Json($$"""{ "percent": {{percent}} }"""));
                await Task.Delay(20, cancel);
            }
            return Json("""{ "status": "Completed" }""");
        });
        await using var lab = await EngineLab.StartAsync(o => o with { Outgoing = migrations });
        var seen = new ConcurrentQueue<int>();
        var story = new ListLog(debug: false);

        var result = await SourceAgentCall.RunAsync(lab.Session(1) with { Log = story }, "vm1", Json("""{ "destination": "third" }"""),
            p => seen.Enqueue(p.GetProperty("percent").GetInt32()), CancellationToken.None);

        Assert.Equal("Completed", result.GetProperty("status").GetString());
        Assert.Equal([25, 50, 75, 100], seen);
        Assert.Contains("dst: vm1: migrating for src to third", story.Lines);
        Assert.DoesNotContain(story.Lines, l => l.Contains("a protocol line")); // the caller did not ask for debug
        await lab.LoggedAsync("outgoing vm1 for src: completed");
    }

    [Fact]
    public async Task Cancelling_the_call_cancels_the_migration_which_still_answers()
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var migrations = new ScriptedMigrations(async (_, _, _, progress, _, cancel) =>
        {
            progress(Json("""{ "percent": 10 }"""));
            try
            {
                await Task.Delay(TimeSpan.FromMinutes(1), cancel);
                return Json("""{ "status": "Completed" }""");
            }
            catch (OperationCanceledException)
            {
                cancelled.SetResult();
                return Json("""{ "status": "Cancelled" }""");
            }
        });
        await using var lab = await EngineLab.StartAsync(o => o with { Outgoing = migrations });
        using var cancel = new CancellationTokenSource();

        var result = await SourceAgentCall.RunAsync(lab.Session(1), "vm1", Json("{}"), _ => cancel.Cancel(), cancel.Token)
            .WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal("Cancelled", result.GetProperty("status").GetString());
        Assert.True(cancelled.Task.IsCompleted);
        await lab.LoggedAsync("outgoing vm1 for src: cancelled");
    }

    [Fact]
    public async Task A_refusal_comes_back_as_the_agents_reason_and_an_agent_without_migrations_says_so()
    {
        var migrations = new ScriptedMigrations((vm, _, _, _, _, _) =>
            throw new MigrationException("VMNotOnThisHost", FailureKind.InvalidInput, $"{vm} is not on dst", vm));
        await using (var lab = await EngineLab.StartAsync(o => o with { Outgoing = migrations }))
        {
            var refused = await Assert.ThrowsAsync<ChannelException>(() =>
                SourceAgentCall.RunAsync(lab.Session(1), "vm1", Json("{}"), _ => { }, CancellationToken.None));
            Assert.Contains("the agent of dst refused: vm1 is not on dst", refused.Message);
            await lab.LoggedAsync("outgoing vm1 for src: refused, vm1 is not on dst");
        }
        await using (var bare = await EngineLab.StartAsync())
        {
            var refused = await Assert.ThrowsAsync<ChannelException>(() =>
                SourceAgentCall.RunAsync(bare.Session(1), "vm1", Json("{}"), _ => { }, CancellationToken.None));
            Assert.Contains("does not run migrations for other hosts", refused.Message);
        }
    }

    private sealed class ScriptedMigrations(
        Func<string, JsonElement, string, Action<JsonElement>, IActivityLog, CancellationToken, Task<JsonElement>> run) : IOutgoingMigrations
    {
        public Task<JsonElement> MigrateAsync(string vm, JsonElement request, string caller, Action<JsonElement> progress, IActivityLog story, CancellationToken cancel) =>
            run(vm, request, caller, progress, story, cancel);
    }

    private sealed class ListLog(bool debug) : IActivityLog
    {
        public ConcurrentQueue<string> Lines { get; } = new();
        public bool DebugEnabled => debug;
        public void Verbose(string message) => Lines.Enqueue(message);
        public void Debug(string message) => Lines.Enqueue(message);
    }
}
