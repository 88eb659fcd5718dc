using System.Net;
using System.Net.Sockets;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;

namespace PSMigration.Qemu.Migration;

/// <summary>
/// A migration whose source is another host is driven through that host's agent (<see cref="RemoteMigration"/>):
/// from <see cref="CallerHost"/> (the inventory host psmig runs on, whose certificate asks) at <see cref="From"/>, to
/// the source agent at <see cref="Agent"/> over <see cref="Network"/> (<see cref="AgentPath"/>).
/// psmig runs on the source host when it can bind the plan's source address: the address the migration leaves from.
/// </summary>
public sealed record SourceAgent(string CallerHost, IPAddress From, IPEndPoint Agent, string Network)
{
    /// <summary>Null when psmig runs on the plan's source host; else how to reach that host's agent; or why neither
    /// (this machine is no host of the inventory, or has no path to the source's agent): the launch refuses then, a
    /// description (-WhatIf) does not need it.</summary>
    public static (SourceAgent? Remote, MigrationException? Problem) For(MigrationInventory inventory, MigrationPlan plan)
    {
        if (IsHere(plan.SourceAddress)) return (null, null);
        var source = inventory.Host(plan.SourceHost);
        var caller = inventory.Hosts.FirstOrDefault(h => h != source && h.Interfaces.SelectMany(i => i.Addresses).Any(a => IsHere(a.Address)));
        if (caller is null)
            return (null, new MigrationException("NotOnAClusterHost", FailureKind.InvalidInput,
                $"{plan.Vm} runs on {plan.SourceHost}, and this machine is not {plan.SourceHost} (it has not {plan.SourceAddress}) nor any other " +
                "host of the inventory (it has none of their addresses): run psmig on a host of the cluster, whose certificate asks " +
                $"{plan.SourceHost}'s agent to migrate the VM", plan.Vm));
        try
        {
            var path = AgentPath.Between(inventory, caller, source);
            return (new SourceAgent(caller.Name, path.Source.Address, new IPEndPoint(path.Destination.Address, source.AgentPort), path.Network.Name), null);
        }
        catch (MigrationException e)
        {
            return (null, new MigrationException("SourceAgentUnreachable", FailureKind.OperationFailed,
                $"{plan.Vm} runs on {plan.SourceHost}, not on this host ({caller.Name}), and {caller.Name} cannot reach {plan.SourceHost}'s agent: {e.Message}", plan.Vm, e));
        }
    }

    /// <summary>Whether this machine (its network namespace) has the address: it can bind a socket to it.</summary>
    private static bool IsHere(IPAddress address)
    {
        if (IPAddress.IsLoopback(address)) return true;
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(address, 0));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public override string ToString() => $"through {Agent} ({Network}), asked as {CallerHost}";
}
