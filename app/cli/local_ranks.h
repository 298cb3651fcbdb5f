// `souldiffuser train --nproc N`: N worker processes of this program on this machine, one per
// rank, meeting at a free loopback port (docs/distributed.md). The launcher only starts and
// watches them, as torchrun does; the ranks themselves talk through c10d.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace cli {

struct LocalRanks {
    int count = 0;
    // The command line of one rank, given its rank and the master address (HOST:PORT); its first
    // element is the subcommand (the program is this executable).
    std::function<std::vector<std::string>(int rank, const std::string& master)> arguments;
    // Seconds the others get to end after one rank failed, before they are killed.
    double grace_seconds = 20;
};

// Starts the ranks and waits for them. Rank 0 keeps this terminal; the others write to
// rank<R>.log in a folder this prints. Returns 0 when every rank succeeded, 130 when the run was
// interrupted (Ctrl-C reaches every rank; rank 0 writes the checkpoint), else 1 after printing
// which rank failed first and the end of its log; the others are stopped.
int run_local_ranks(const LocalRanks& ranks);

}  // namespace cli
