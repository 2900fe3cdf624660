// The store itself: nodes keyed by absolute path, with creation-ordered child lists,
// generation counts for transaction conflict detection and a per-owner index.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "perms.hpp"

namespace xs {

struct Node {
    std::string value;
    PermList perms;
    // Child names, each followed by a NUL, in creation order: exactly the payload of an
    // XS_DIRECTORY reply (pv-abi-devices §5.2), so listing costs one copy.
    std::string children;
    // Generation of the last change to value, perms or child list; 0 means "absent".
    uint64_t generation = 0;

    uint32_t owner() const { return perms.empty() ? 0 : perms[0].domid; }
};

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class Tree {
public:
    Tree();

    Node* find(std::string_view path);
    const Node* find(std::string_view path) const;

    // Create `path` (its parent must exist and it must not) and link it into the parent.
    Node& create(std::string_view path, Node node);
    // Mark a node changed after its value was edited in place.
    void touch(Node& node) { node.generation = ++m_generation; }
    void set_perms(std::string_view path, Node& node, PermList perms);
    // Remove `path` and everything below it; `on_removed` sees each node before it goes.
    void remove(std::string_view path,
                const std::function<void(std::string_view, const Node&)>& on_removed = {});

    // Transaction commit primitives: the committed view is consistent as a whole, so these
    // do not maintain parent links (the transaction's own copy of each parent does).
    void commit_put(std::string_view path, Node node);
    void commit_erase(std::string_view path);

    uint64_t generation() const { return m_generation; }
    size_t size() const { return m_nodes.size(); }
    // Nodes owned by `domid` (the owner index; not kept for domain 0).
    size_t owned_count(uint32_t domid) const;
    std::vector<std::string> owned_paths(uint32_t domid) const;

    // Remove one name from a NUL-separated child list.
    static void unlink_child(std::string& children, std::string_view name);

    // Full structural check used by tests, fuzzing and XS_CONTROL "check".
    bool check(std::string& why) const;

    template <typename F>
    void for_each(F&& f) const {
        for (const auto& [path, node] : m_nodes) f(path, node);
    }

private:
    using Map = std::unordered_map<std::string, Node, StringHash, std::equal_to<>>;
    void index_add(uint32_t owner, std::string_view key);
    void index_remove(uint32_t owner, std::string_view key);

    Map m_nodes;
    uint64_t m_generation = 1;
    // owner domid -> keys (views into m_nodes' keys, which are stable while present).
    std::unordered_map<uint32_t, std::unordered_set<std::string_view>> m_owned;
};

// Iterate the NUL-terminated names of a child list.
template <typename F>
void for_each_child(std::string_view children, F&& f) {
    size_t pos = 0;
    while (pos < children.size()) {
        size_t end = children.find('\0', pos);
        if (end == std::string_view::npos) end = children.size();
        f(children.substr(pos, end - pos));
        pos = end + 1;
    }
}

}  // namespace xs
