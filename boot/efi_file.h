/* Reading files from the ESP, the FAT volume this loader was itself loaded from. Paths use the
 * configuration's notation ("/tessera/a.elf"); '/' and '\' are both accepted. */
#ifndef TESSERA_BOOT_EFI_FILE_H
#define TESSERA_BOOT_EFI_FILE_H

#include <efi.h>
#include "efi_memory.h"

/* Open the root directory of the volume image_handle was loaded from. */
EFI_STATUS esp_open_root(EFI_HANDLE image_handle, EFI_FILE_HANDLE *root);

/* Read a whole file into memory that outlives boot services (EfiLoaderData pages, recorded in
 * allocs so a later refusal frees it). *size gets the exact file size. */
EFI_STATUS esp_read_file(EFI_FILE_HANDLE root, const char *path, struct boot_allocs *allocs,
                         void **data, UINT64 *size);

/* Read a small file into pool memory (freed with FreePool), NUL-terminated for convenience.
 * Files larger than max_size are refused with EFI_BAD_BUFFER_SIZE. */
EFI_STATUS esp_read_small_file(EFI_FILE_HANDLE root, const char *path, UINT64 max_size,
                               void **data, UINT64 *size);

#endif
