/* ESP file access through the Simple File System protocol of the loader's own volume. */
#include <efi.h>
#include <efilib.h>
#include "efi_file.h"

#define ESP_PATH_MAX 260

EFI_STATUS esp_open_root(EFI_HANDLE image_handle, EFI_FILE_HANDLE *root)
{
    EFI_LOADED_IMAGE *loaded = NULL;
    EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *fs = NULL;
    EFI_STATUS st = uefi_call_wrapper(BS->HandleProtocol, 3, image_handle, &LoadedImageProtocol,
                                      (void **)&loaded);
    if (EFI_ERROR(st))
        return st;
    st = uefi_call_wrapper(BS->HandleProtocol, 3, loaded->DeviceHandle, &FileSystemProtocol, (void **)&fs);
    if (EFI_ERROR(st))
        return st;
    return uefi_call_wrapper(fs->OpenVolume, 2, fs, root);
}

/* "/tessera/a.elf" -> L"\\tessera\\a.elf". Non-ASCII or over-long paths are not found. */
static EFI_STATUS to_efi_path(const char *path, CHAR16 *out, unsigned cap)
{
    unsigned n = 0;
    for (; *path; path++) {
        unsigned char c = (unsigned char)*path;
        if (c < 0x20 || c >= 0x7f || n + 1 >= cap)
            return EFI_INVALID_PARAMETER;
        out[n++] = (c == '/') ? '\\' : c;
    }
    if (n == 0)
        return EFI_INVALID_PARAMETER;
    out[n] = 0;
    return EFI_SUCCESS;
}

static EFI_STATUS open_file(EFI_FILE_HANDLE root, const char *path, EFI_FILE_HANDLE *file, UINT64 *size)
{
    CHAR16 wide[ESP_PATH_MAX];
    EFI_STATUS st = to_efi_path(path, wide, ESP_PATH_MAX);
    if (EFI_ERROR(st))
        return st;
    st = uefi_call_wrapper(root->Open, 5, root, file, wide, EFI_FILE_MODE_READ, 0);
    if (EFI_ERROR(st))
        return st;

    /* EFI_FILE_INFO ends in the file name: ask for the size first. */
    UINTN info_size = 0;
    EFI_FILE_INFO *info = NULL;
    st = uefi_call_wrapper((*file)->GetInfo, 4, *file, &GenericFileInfo, &info_size, NULL);
    if (st == EFI_BUFFER_TOO_SMALL) {
        st = uefi_call_wrapper(BS->AllocatePool, 3, EfiLoaderData, info_size, (void **)&info);
        if (!EFI_ERROR(st))
            st = uefi_call_wrapper((*file)->GetInfo, 4, *file, &GenericFileInfo, &info_size, info);
    } else if (!EFI_ERROR(st)) {
        st = EFI_DEVICE_ERROR; /* a zero-sized EFI_FILE_INFO cannot be right */
    }
    if (!EFI_ERROR(st) && (info->Attribute & EFI_FILE_DIRECTORY))
        st = EFI_NOT_FOUND;   /* a directory is not the file the configuration names */
    if (!EFI_ERROR(st))
        *size = info->FileSize;
    if (info)
        uefi_call_wrapper(BS->FreePool, 1, info);
    if (EFI_ERROR(st))
        uefi_call_wrapper((*file)->Close, 1, *file);
    return st;
}

/* Read exactly size bytes; FAT reads may return short counts, so loop. */
static EFI_STATUS read_all(EFI_FILE_HANDLE file, void *buf, UINT64 size)
{
    UINT8 *p = buf;
    while (size) {
        UINTN chunk = size;
        EFI_STATUS st = uefi_call_wrapper(file->Read, 3, file, &chunk, p);
        if (EFI_ERROR(st))
            return st;
        if (chunk == 0 || chunk > size)
            return EFI_END_OF_FILE;  /* the file shrank under us */
        p += chunk;
        size -= chunk;
    }
    return EFI_SUCCESS;
}

EFI_STATUS esp_read_file(EFI_FILE_HANDLE root, const char *path, struct boot_allocs *allocs,
                         void **data, UINT64 *size)
{
    EFI_FILE_HANDLE file;
    UINT64 file_size;
    EFI_STATUS st = open_file(root, path, &file, &file_size);
    if (EFI_ERROR(st))
        return st;
    EFI_PHYSICAL_ADDRESS addr;
    /* At least one page, so an empty module still has a distinct address. */
    st = boot_alloc_bytes(allocs, file_size ? file_size : 1, BOOT_ALIGN_PAGE, &addr);
    if (!EFI_ERROR(st)) {
        st = read_all(file, (void *)(UINTN)addr, file_size);
        if (EFI_ERROR(st))
            boot_free_region(allocs, addr);
    }
    uefi_call_wrapper(file->Close, 1, file);
    if (EFI_ERROR(st))
        return st;
    *data = (void *)(UINTN)addr;
    *size = file_size;
    return EFI_SUCCESS;
}

EFI_STATUS esp_read_small_file(EFI_FILE_HANDLE root, const char *path, UINT64 max_size,
                               void **data, UINT64 *size)
{
    EFI_FILE_HANDLE file;
    UINT64 file_size;
    EFI_STATUS st = open_file(root, path, &file, &file_size);
    if (EFI_ERROR(st))
        return st;
    UINT8 *buf = NULL;
    if (file_size > max_size)
        st = EFI_BAD_BUFFER_SIZE;
    else
        st = uefi_call_wrapper(BS->AllocatePool, 3, EfiLoaderData, file_size + 1, (void **)&buf);
    if (!EFI_ERROR(st)) {
        st = read_all(file, buf, file_size);
        if (EFI_ERROR(st)) {
            uefi_call_wrapper(BS->FreePool, 1, buf);
        } else {
            buf[file_size] = 0;
            *data = buf;
            *size = file_size;
        }
    }
    uefi_call_wrapper(file->Close, 1, file);
    return st;
}
