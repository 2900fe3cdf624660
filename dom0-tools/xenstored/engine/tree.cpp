// The store's node tree.
#include "tree.hpp"

#include <algorithm>
#include <vector>

#include "path.hpp"

namespace xs {

Tree::Tree() {
    Node root;
    root.perms = {Perm{0, kPermNone}};
    root.generation = m_generation;
    m_nodes.emplace("/", std::move(root));
}

Node* Tree::find(std::string_view path) {
    auto it = m_nodes.find(path);
    return it == m_nodes.end() ? nullptr : &it->second;
}

const Node* Tree::find(std::string_view path) const {
    auto it = m_nodes.find(path);
    return it == m_nodes.end() ? nullptr : &it->second;
}

void Tree::index_add(uint32_t owner, std::string_view key) {
    if (owner != 0) m_owned[owner].insert(key);
}

void Tree::index_remove(uint32_t owner, std::string_view key) {
    if (owner == 0) return;
    auto it = m_owned.find(owner);
    if (it == m_owned.end()) return;
    it->second.erase(key);
    if (it->second.empty()) m_owned.erase(it);
}

size_t Tree::owned_count(uint32_t domid) const {
    auto it = m_owned.find(domid);
    return it == m_owned.end() ? 0 : it->second.size();
}

std::vector<std::string> Tree::owned_paths(uint32_t domid) const {
    std::vector<std::string> out;
    auto it = m_owned.find(domid);
    if (it != m_owned.end())
        for (auto k : it->second) out.emplace_back(k);
    return out;
}

Node& Tree::create(std::string_view path, Node node) {
    Node* parent = find(parent_of(path));
    parent->children.append(base_name(path));
    parent->children.push_back('\0');
    touch(*parent);
    node.generation = ++m_generation;
    auto [it, inserted] = m_nodes.emplace(std::string(path), std::move(node));
    (void)inserted;
    index_add(it->second.owner(), it->first);
    return it->second;
}

void Tree::set_perms(std::string_view path, Node& node, PermList perms) {
    auto it = m_nodes.find(path);
    if (node.owner() != perms[0].domid) {
        index_remove(node.owner(), it->first);
        index_add(perms[0].domid, it->first);
    }
    node.perms = std::move(perms);
    touch(node);
}

void Tree::unlink_child(std::string& children, std::string_view name) {
    size_t pos = 0;
    while (pos < children.size()) {
        size_t end = children.find('\0', pos);
        if (end == std::string::npos) end = children.size();
        if (std::string_view(children).substr(pos, end - pos) == name) {
            children.erase(pos, end - pos + 1);
            return;
        }
        pos = end + 1;
    }
}

void Tree::remove(std::string_view path,
                  const std::function<void(std::string_view, const Node&)>& on_removed) {
    // Depth-first over an explicit stack: deep trees must not exhaust the C++ stack.
    std::vector<std::string> stack{std::string(path)};
    std::vector<std::string> order;
    while (!stack.empty()) {
        std::string p = std::move(stack.back());
        stack.pop_back();
        const Node* n = find(p);
        if (!n) continue;
        for_each_child(n->children, [&](std::string_view c) {
            stack.push_back(child_path(p, c));
        });
        order.push_back(std::move(p));
    }
    for (const auto& p : order) {
        auto it = m_nodes.find(p);
        if (on_removed) on_removed(p, it->second);
        index_remove(it->second.owner(), it->first);
        m_nodes.erase(it);
    }
    if (Node* parent = find(parent_of(path))) {
        unlink_child(parent->children, base_name(path));
        touch(*parent);
    }
}

void Tree::commit_put(std::string_view path, Node node) {
    node.generation = ++m_generation;
    auto it = m_nodes.find(path);
    if (it == m_nodes.end()) {
        auto [nit, inserted] = m_nodes.emplace(std::string(path), std::move(node));
        (void)inserted;
        index_add(nit->second.owner(), nit->first);
        return;
    }
    if (it->second.owner() != node.owner()) {
        index_remove(it->second.owner(), it->first);
        index_add(node.owner(), it->first);
    }
    it->second = std::move(node);
}

void Tree::commit_erase(std::string_view path) {
    auto it = m_nodes.find(path);
    if (it == m_nodes.end()) return;
    index_remove(it->second.owner(), it->first);
    m_nodes.erase(it);
}

bool Tree::check(std::string& why) const {
    size_t indexed = 0;
    for (const auto& [owner, keys] : m_owned) {
        indexed += keys.size();
        for (auto k : keys) {
            const Node* n = find(k);
            if (!n || n->owner() != owner) {
                why = "owner index stale for " + std::string(k);
                return false;
            }
        }
    }
    size_t owned_by_domains = 0;
    for (const auto& [path, node] : m_nodes) {
        if (node.perms.empty()) {
            why = "node without permissions: " + path;
            return false;
        }
        if (node.owner() != 0) ++owned_by_domains;
        if (node.generation == 0 || node.generation > m_generation) {
            why = "bad generation on " + path;
            return false;
        }
        if (!node.children.empty() && node.children.back() != '\0') {
            why = "unterminated child list on " + path;
            return false;
        }
        std::unordered_set<std::string_view> seen;
        bool ok = true;
        for_each_child(node.children, [&](std::string_view c) {
            if (c.empty() || !seen.insert(c).second || !find(child_path(path, c))) ok = false;
        });
        if (!ok) {
            why = "bad child list on " + path;
            return false;
        }
        if (path == "/") continue;
        const Node* parent = find(parent_of(path));
        if (!parent) {
            why = "orphan node " + path;
            return false;
        }
        bool listed = false;
        auto name = base_name(path);
        for_each_child(parent->children, [&](std::string_view c) { listed |= c == name; });
        if (!listed) {
            why = "node not listed in its parent: " + path;
            return false;
        }
    }
    if (indexed != owned_by_domains) {
        why = "owner index size mismatch";
        return false;
    }
    return true;
}

}  // namespace xs
