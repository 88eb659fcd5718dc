using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Management.Automation.Runspaces;
using System.Reflection;
using System.Security;

namespace PSMigration.Hosted.Tests;

/// <summary>
/// A PowerShell 7.6 runspace in this process with the module imported from its build output (Migration.psd1
/// beside Migration.dll), and a host that records what is written to it (What if: lines, what a cmdlet tells
/// after Ctrl+C). Scripts run as a user's command line would: <see cref="Run"/> to the end, or
/// <see cref="Start"/> to stop them midway with <see cref="PowerShell.Stop"/>, which is what Ctrl+C does.
/// </summary>
public sealed class ModuleSession : IDisposable
{
    public static string Manifest { get; } = typeof(ModuleSession).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "MigrationManifest").Value!;

    private readonly Runspace runspace;

    public ModuleSession()
    {
        var state = InitialSessionState.CreateDefault2();
        state.ImportPSModule(Manifest);
        Host = new RecordingHost();
        runspace = RunspaceFactory.CreateRunspace(Host, state);
        runspace.Open();
        var errors = runspace.SessionStateProxy.PSVariable.GetValue("Error") as System.Collections.ArrayList;
        if (errors is { Count: > 0 }) throw new InvalidOperationException($"importing {Manifest} failed: {errors[0]}");
    }

    public RecordingHost Host { get; }

    /// <summary>A pipeline in this runspace; variables carry over from one to the next.</summary>
    public PowerShell Start(string script, IDictionary<string, object?>? variables = null)
    {
        var shell = PowerShell.Create();
        shell.Runspace = runspace;
        foreach (var (name, value) in variables ?? new Dictionary<string, object?>())
            runspace.SessionStateProxy.SetVariable(name, value);
        shell.AddScript(script);
        return shell;
    }

    /// <summary>Runs <paramref name="script"/> to its end; its output, with every stream kept on <paramref name="shell"/>.</summary>
    public Collection<PSObject> Run(string script, out PowerShell shell, IDictionary<string, object?>? variables = null)
    {
        shell = Start(script, variables);
        return shell.Invoke();
    }

    public Collection<PSObject> Run(string script, IDictionary<string, object?>? variables = null)
    {
        using var shell = Start(script, variables);
        var output = shell.Invoke();
        if (shell.HadErrors && shell.Streams.Error.Count > 0 && output.Count == 0)
            throw new InvalidOperationException($"'{script}' failed: {string.Join(" | ", shell.Streams.Error)}");
        return output;
    }

    public void Dispose() => runspace.Dispose();
}

/// <summary>A host that records every line written to it, as a console would show them.</summary>
public sealed class RecordingHost : PSHost
{
    private readonly RecordingUserInterface ui = new();

    public IReadOnlyList<string> Lines => ui.Lines;
    public override string Name => "PSMigration test host";
    public override Version Version => new(1, 0);
    public override Guid InstanceId { get; } = Guid.NewGuid();
    public override PSHostUserInterface UI => ui;
    public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;
    public override void SetShouldExit(int exitCode) { }
    public override void EnterNestedPrompt() => throw new NotSupportedException();
    public override void ExitNestedPrompt() => throw new NotSupportedException();
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }

    private sealed class RecordingUserInterface : PSHostUserInterface
    {
        private readonly List<string> lines = new();
        private string partial = "";

        public IReadOnlyList<string> Lines
        {
            get { lock (lines) return lines.ToList(); }
        }

        public override PSHostRawUserInterface? RawUI => null;
        public override string ReadLine() => "";
        public override SecureString ReadLineAsSecureString() => new();
        public override void Write(string value) => Add(value, newLine: false);
        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Add(value, newLine: false);
        public override void WriteLine(string value) => Add(value, newLine: true);
        public override void WriteErrorLine(string value) => Add("ERROR: " + value, newLine: true);
        public override void WriteDebugLine(string message) => Add("DEBUG: " + message, newLine: true);
        public override void WriteVerboseLine(string message) => Add("VERBOSE: " + message, newLine: true);
        public override void WriteWarningLine(string message) => Add("WARNING: " + message, newLine: true);
        public override void WriteProgress(long sourceId, ProgressRecord record) { }
        public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) => throw new NotSupportedException(message);
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw new NotSupportedException(message);
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw new NotSupportedException(message);
        public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice) => throw new NotSupportedException(message);

        private void Add(string value, bool newLine)
        {
            lock (lines)
            {
                partial += value;
                if (!newLine) return;
                lines.Add(partial);
                partial = "";
            }
        }
    }
}
