// Engine-private state shared by the engine's source files.
#pragma once

#include <unordered_map>
#include <vector>

#include "engine.hpp"

namespace xs {

struct Engine::Watch {
    ConnId conn;
    std::string path;   // absolute, or a special '@' name
    std::string token;
    size_t strip = 0;   // bytes to strip from event paths (the home prefix of a relative watch)
    int depth = -1;     // -1: unlimited (pv-abi-devices §5.5 depth argument)
};

// Optimistic transaction (pv-abi-devices §5.4): it records the generation of every node it
// looked at and keeps private copies of the nodes it changed; commit fails with EAGAIN if any
// recorded generation moved.
struct Engine::Transaction {
    uint32_t id = 0;
    std::unordered_map<std::string, uint64_t, StringHash, std::equal_to<>> observed;
    std::unordered_map<std::string, TxNode, StringHash, std::equal_to<>> nodes;
    std::vector<Change> changes;
    // Net nodes created (+) or removed (-) per owner, for the node quota.
    std::unordered_map<uint32_t, long> owner_delta;
};

struct Engine::Conn {
    ConnId id;
    ConnConfig cfg;
    Caller caller;
    OutQueue out;
    bool ready = false;
    std::unordered_map<uint32_t, std::unique_ptr<Transaction>> txns;
    std::vector<std::unique_ptr<Watch>> watches;
    uint64_t dropped_events = 0;
};

struct Engine::Domain {
    uint32_t domid;
    int64_t gfn = 0;
    uint32_t port = 0;
    std::optional<ConnId> conn;
    int64_t target = -1;
    uint32_t features = 0;
};

}  // namespace xs
