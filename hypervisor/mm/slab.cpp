// Slab caches: per-slab header with a free list and an allocation bitmap, three slab lists.
#include "mm/slab.hpp"

#include <bit>

namespace xenolith {

namespace {
constexpr std::uint64_t kSlabMagic = 0x5841'4C4F'4E4C'4153;  // arbitrary; cleared when a slab is returned
constexpr int kListPartial = 0, kListFull = 1, kListSpare = 2;
constexpr std::size_t kBitmapWords = SlabCache::kMaxObjectsPerSlab / 64;

std::size_t round_up(std::size_t value, std::size_t align) { return (value + align - 1) & ~(align - 1); }
}  // namespace

// Lives at the start of every slab; objects follow at m_first_offset.
struct SlabCache::Slab {
    std::uint64_t magic;
    const SlabCache* cache;
    Slab* prev;
    Slab* next;
    void* free_list;  // each free object's first bytes hold the next free object
    std::uint32_t in_use;
    std::int32_t list;
    std::uint64_t allocated[kBitmapWords];  // bit i: object i is handed out (catches double frees)
};

namespace {

void* load_link(void* object) {
    void* next;
    __builtin_memcpy(&next, object, sizeof(next));
    return next;
}
void store_link(void* object, void* next) { __builtin_memcpy(object, &next, sizeof(next)); }

template <typename S>
void list_push(S*& head, S* s) {
    s->prev = nullptr;
    s->next = head;
    if (head)
        head->prev = s;
    head = s;
}
template <typename S>
void list_remove(S*& head, S* s) {
    if (s->prev)
        s->prev->next = s->next;
    else
        head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = nullptr;
}

}  // namespace

SlabCache::SlabCache(const char* name, std::size_t object_size, std::size_t align, PageProvider& provider)
    : m_name(name), m_object_size(object_size), m_provider(provider) {
    if (object_size == 0 || align == 0 || (align & (align - 1)) != 0 || align > (kPageSize << kMaxSlabOrder))
        return;
    // Free objects hold a pointer, so every slot is at least pointer-sized and -aligned.
    align = align < alignof(void*) ? alignof(void*) : align;
    const std::size_t stride = round_up(object_size < sizeof(void*) ? sizeof(void*) : object_size, align);
    const std::size_t first = round_up(sizeof(Slab), align);
    for (unsigned order = 0; order <= kMaxSlabOrder; ++order) {
        const std::size_t bytes = kPageSize << order;
        if (first >= bytes || stride > bytes - first)
            continue;
        std::size_t count = (bytes - first) / stride;
        count = count > kMaxObjectsPerSlab ? kMaxObjectsPerSlab : count;
        m_stride = stride;
        m_first_offset = first;
        m_objects_per_slab = count;
        m_slab_order = order;
        if (count >= kMinObjectsPerSlab)
            break;  // otherwise try a larger slab, keeping this one if none does better
    }
}

Result<SlabCache::Slab*> SlabCache::new_slab() {
    Result<void*> block = m_provider.allocate_pages(m_slab_order);
    if (block.is_error())
        return Error{block.error()};
    Slab* slab = static_cast<Slab*>(*block);
    slab->magic = kSlabMagic;
    slab->cache = this;
    slab->prev = slab->next = nullptr;
    slab->in_use = 0;
    slab->list = kListPartial;
    for (std::uint64_t& word : slab->allocated)
        word = 0;
    // Thread the free list in address order so allocation walks memory forwards.
    auto* base = reinterpret_cast<std::byte*>(slab) + m_first_offset;
    slab->free_list = base;
    for (std::size_t i = 0; i < m_objects_per_slab; ++i)
        store_link(base + i * m_stride, i + 1 < m_objects_per_slab ? base + (i + 1) * m_stride : nullptr);
    ++m_slab_count;
    return slab;
}

void SlabCache::give_back(Slab* slab) {
    slab->magic = 0;  // a stale pointer into a returned slab must not look like ours
    slab->cache = nullptr;
    --m_slab_count;
    m_provider.release_pages(slab, m_slab_order);
}

Result<void*> SlabCache::allocate() {
    if (!valid())
        return Errno::EINVAL;
    Slab* slab = m_partial;
    if (!slab && m_spare) {
        slab = m_spare;
        m_spare = nullptr;
        slab->list = kListPartial;
        list_push(m_partial, slab);
    }
    if (!slab) {
        Result<Slab*> fresh = new_slab();
        if (fresh.is_error()) {
            ++m_failed;
            return Errno::ENOMEM;
        }
        slab = *fresh;
        list_push(m_partial, slab);
    }
    void* object = slab->free_list;
    slab->free_list = load_link(object);
    std::size_t index = 0;
    object_index(slab, object, index);
    slab->allocated[index / 64] |= std::uint64_t{1} << (index % 64);
    if (++slab->in_use == m_objects_per_slab) {
        list_remove(m_partial, slab);
        slab->list = kListFull;
        list_push(m_full, slab);
    }
    ++m_in_use;
    ++m_allocations;
    return object;
}

SlabCache::Slab* SlabCache::slab_of(const void* object) const {
    const std::uintptr_t mask = (std::uintptr_t{kPageSize} << m_slab_order) - 1;
    auto* slab = reinterpret_cast<Slab*>(reinterpret_cast<std::uintptr_t>(object) & ~mask);
    if (slab->magic != kSlabMagic || slab->cache != this)
        return nullptr;
    return slab;
}

bool SlabCache::object_index(const Slab* slab, const void* object, std::size_t& index) const {
    const std::uintptr_t first = reinterpret_cast<std::uintptr_t>(slab) + m_first_offset;
    const std::uintptr_t p = reinterpret_cast<std::uintptr_t>(object);
    if (p < first || (p - first) % m_stride != 0 || (p - first) / m_stride >= m_objects_per_slab)
        return false;
    index = (p - first) / m_stride;
    return true;
}

bool SlabCache::owns_live(const void* object) const {
    if (!valid() || object == nullptr)
        return false;
    const Slab* slab = slab_of(object);
    std::size_t index = 0;
    if (!slab || !object_index(slab, object, index))
        return false;
    return (slab->allocated[index / 64] >> (index % 64)) & 1;
}

Result<void> SlabCache::release(void* object) {
    if (!owns_live(object)) {
        ++m_bad_releases;
        return Errno::EINVAL;
    }
    Slab* slab = slab_of(object);
    std::size_t index = 0;
    object_index(slab, object, index);
    slab->allocated[index / 64] &= ~(std::uint64_t{1} << (index % 64));
    store_link(object, slab->free_list);
    slab->free_list = object;
    --m_in_use;
    ++m_releases;
    if (slab->list == kListFull) {
        list_remove(m_full, slab);
        slab->list = kListPartial;
        list_push(m_partial, slab);
    }
    if (--slab->in_use == 0) {
        list_remove(m_partial, slab);
        if (m_spare) {
            give_back(slab);
        } else {
            slab->list = kListSpare;
            m_spare = slab;
        }
    }
    return ok();
}

void SlabCache::trim() {
    if (m_spare) {
        Slab* slab = m_spare;
        m_spare = nullptr;
        give_back(slab);
    }
}

SlabStats SlabCache::stats() const {
    return {m_in_use,     m_objects_per_slab, m_slab_count, m_spare ? 1u : 0u, m_slab_count << m_slab_order,
            m_allocations, m_releases,        m_failed,     m_bad_releases};
}

void SlabCache::check_slab(const Slab* slab, int list, Diagnostics& diag) const {
    if (slab->magic != kSlabMagic || slab->cache != this || slab->list != list) {
        diag.error("slab {}: slab {} has a bad header (list {}, expected {})", m_name, slab, slab->list, list);
        return;
    }
    std::size_t marked = 0;
    for (std::uint64_t word : slab->allocated)
        marked += static_cast<std::size_t>(std::popcount(word));
    if (marked != slab->in_use)
        diag.error("slab {}: slab {} counts {} in use, bitmap has {}", m_name, slab, slab->in_use, marked);
    if ((list == kListFull) != (slab->in_use == m_objects_per_slab) || (list == kListSpare) != (slab->in_use == 0))
        diag.error("slab {}: slab {} with {} in use is on list {}", m_name, slab, slab->in_use, list);
    // The free list must be exactly the unmarked objects, each once.
    std::uint64_t seen[kBitmapWords] = {};
    std::size_t free_count = 0;
    for (void* p = slab->free_list; p != nullptr; p = load_link(p)) {
        std::size_t index = 0;
        if (free_count >= m_objects_per_slab || !object_index(slab, p, index)) {
            diag.error("slab {}: slab {} free list holds bad pointer {} (or loops)", m_name, slab, p);
            return;
        }
        const std::uint64_t bit = std::uint64_t{1} << (index % 64);
        if ((seen[index / 64] & bit) || (slab->allocated[index / 64] & bit)) {
            diag.error("slab {}: object {} is on the free list twice or also allocated", m_name, p);
            return;
        }
        seen[index / 64] |= bit;
        ++free_count;
    }
    if (free_count + slab->in_use != m_objects_per_slab)
        diag.error("slab {}: slab {} has {} free + {} used of {}", m_name, slab, free_count, slab->in_use,
                   m_objects_per_slab);
}

bool SlabCache::check_invariants(Diagnostics& diag) const {
    const std::size_t before = diag.count();
    std::size_t slabs = 0;
    std::size_t in_use = 0;
    const Slab* lists[] = {m_partial, m_full, m_spare};
    for (int list = kListPartial; list <= kListSpare; ++list) {
        const Slab* prev = nullptr;
        for (const Slab* s = lists[list]; s != nullptr; prev = s, s = s->next) {
            if (slabs++ > m_slab_count) {
                diag.error("slab {}: more slabs on the lists than the {} counted (cycle?)", m_name, m_slab_count);
                return false;
            }
            if (s->prev != prev)
                diag.error("slab {}: slab {} has a broken prev link", m_name, s);
            check_slab(s, list, diag);
            in_use += s->in_use;
        }
    }
    if (slabs != m_slab_count)
        diag.error("slab {}: {} slabs on the lists, {} counted", m_name, slabs, m_slab_count);
    if (in_use != m_in_use)
        diag.error("slab {}: {} objects in use on the slabs, {} counted", m_name, in_use, m_in_use);
    return diag.count() == before;
}

}  // namespace xenolith
