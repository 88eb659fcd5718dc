using System.CommandLine;
using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;

namespace PSMigration.Cli;

/// <summary><c>psmig demo</c>: the main job on an embedded default. Until the transfer engine
/// lands it plans the sample inventory's interesting cases: the dedicated migration link, the
/// fallback to the LAN where a host lacks it, and a VM with its own policy.</summary>
public static class DemoCommand
{
    private static readonly (string Vm, string Destination)[] Cases =
    [
        ("web01", "kvm02"),
        ("web01", "kvm03"),
        ("db01", "kvm02"),
    ];

    public static Command Create(CliOutput output)
    {
        var json = CommonOptions.Json();
        var command = new Command("demo", "Plan migrations on the embedded sample inventory (no setup needed).") { json };
        command.SetAction(parsed =>
        {
            var inventory = InventoryLoader.LoadSample();
            var plans = Cases.Select(c => MigrationPlanner.Plan(inventory, c.Vm, c.Destination)).ToList();
            if (parsed.GetValue(json))
            {
                output.Json(plans);
                return CliApp.Done;
            }
            output.Out.WriteLine("PSMigration demo: plans on the embedded sample inventory (samples/inventory.yaml):");
            output.Out.WriteLine("kvm01 and kvm02 have a 10 Gb migration network; kvm03 only a 2x1 Gb LAN bond, corosync and iSCSI.");
            foreach (var plan in plans)
            {
                output.Out.WriteLine();
                PlanText.Write(plan, output.Out);
            }
            output.Out.WriteLine();
            output.Out.WriteLine("Try it on your own hosts: psmig plan --inventory FILE --vm NAME --destination HOST [--json]");
            return CliApp.Done;
        });
        return command;
    }
}
