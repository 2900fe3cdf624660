# Pure-logic sources: compiled freestanding into the hypervisor and natively into the host tests.
# Included by hypervisor/CMakeLists.txt and tests/host/CMakeLists.txt so both build the same list.
set(XENOLITH_PURE_SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/lib/format.cpp
    ${CMAKE_CURRENT_LIST_DIR}/boot/cmdline.cpp
    ${CMAKE_CURRENT_LIST_DIR}/boot/multiboot.cpp
    ${CMAKE_CURRENT_LIST_DIR}/mm/buddy.cpp
    ${CMAKE_CURRENT_LIST_DIR}/mm/slab.cpp
    ${CMAKE_CURRENT_LIST_DIR}/acpi/tables.cpp
    ${CMAKE_CURRENT_LIST_DIR}/acpi/madt.cpp
    ${CMAKE_CURRENT_LIST_DIR}/domain/xen_elf.cpp
    ${CMAKE_CURRENT_LIST_DIR}/domain/boot_layout.cpp
    ${CMAKE_CURRENT_LIST_DIR}/domain/boot_page_tables.cpp
)
set(XENOLITH_PURE_INCLUDE_DIRS
    ${CMAKE_CURRENT_LIST_DIR}
    ${CMAKE_CURRENT_LIST_DIR}/../guest-abi/include
)
# PV memory-safety core: page ownership, type/reference counts, page-table validation.
list(APPEND XENOLITH_PURE_SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/mm/page_ref.cpp
    ${CMAKE_CURRENT_LIST_DIR}/mm/pt_validate.cpp
    ${CMAKE_CURRENT_LIST_DIR}/mm/dirty_bitmap.cpp
)
