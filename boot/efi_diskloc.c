/* Boot-disk location from the device path of the volume the loader came from. The PCI I/O
 * protocol of the controller gives the exact segment/bus/device/function; the device path's
 * last PCI node is the fallback (bus then stays 0: only the root bridge knows it). */
#include <efi.h>
#include <efilib.h>
#include "efi_diskloc.h"

#define MSG_NVME_NAMESPACE_DP 23   /* UEFI spec 10.3.4.22; not in gnu-efi 3.0.15's headers */

enum { DISK_UNKNOWN = 0, DISK_ATA = 1, DISK_AHCI = 2, DISK_NVME = 3 };

static UINT16 node_length(const EFI_DEVICE_PATH *n)
{
    return (UINT16)(n->Length[0] | (n->Length[1] << 8));
}

static void read_path_nodes(EFI_DEVICE_PATH *path, struct bootinfo *bi)
{
    /* A device path is a packed list of nodes ending in an END_ENTIRE node; a node shorter than
     * its header would loop forever, so stop there too. The walk is bounded in any case. */
    for (unsigned guard = 0; guard < 64; guard++) {
        UINT16 len = node_length(path);
        if (len < sizeof(EFI_DEVICE_PATH) || (DevicePathType(path) == END_DEVICE_PATH_TYPE &&
                                              DevicePathSubType(path) == END_ENTIRE_DEVICE_PATH_SUBTYPE))
            return;
        UINT8 type = DevicePathType(path), sub = DevicePathSubType(path);
        const UINT8 *body = (const UINT8 *)path + sizeof(EFI_DEVICE_PATH);
        if (type == HARDWARE_DEVICE_PATH && sub == HW_PCI_DP && len >= 6) {
            bi->boot_pci_fn = body[0];
            bi->boot_pci_dev = body[1];
        } else if (type == MESSAGING_DEVICE_PATH && sub == MSG_ATAPI_DP && len >= 8) {
            bi->boot_disk_kind = DISK_ATA;
            bi->boot_disk_port = (UINT16)((body[0] ? 2 : 0) + (body[1] ? 1 : 0));
        } else if (type == MESSAGING_DEVICE_PATH && sub == MSG_SATA_DP && len >= 10) {
            bi->boot_disk_kind = DISK_AHCI;
            bi->boot_disk_port = (UINT16)(body[0] | (body[1] << 8));
        } else if (type == MESSAGING_DEVICE_PATH && sub == MSG_NVME_NAMESPACE_DP && len >= 16) {
            bi->boot_disk_kind = DISK_NVME;
            UINT32 nsid = (UINT32)body[0] | ((UINT32)body[1] << 8) | ((UINT32)body[2] << 16) |
                          ((UINT32)body[3] << 24);
            bi->boot_disk_port = nsid > 0xffff ? 0 : (UINT16)nsid;
        }
        path = (EFI_DEVICE_PATH *)((UINT8 *)path + len);
    }
}

void boot_disk_locate(EFI_HANDLE image_handle, struct bootinfo *bi)
{
    EFI_LOADED_IMAGE *loaded = NULL;
    EFI_DEVICE_PATH *path = NULL;
    bi->boot_pci_segment = 0;
    bi->boot_pci_bus = bi->boot_pci_dev = bi->boot_pci_fn = 0;
    bi->boot_disk_kind = DISK_UNKNOWN;
    bi->boot_disk_port = 0;
    if (EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, image_handle, &LoadedImageProtocol,
                                    (void **)&loaded)) ||
        EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, loaded->DeviceHandle, &DevicePathProtocol,
                                    (void **)&path)))
        return;
    read_path_nodes(path, bi);

    /* The handle nearest the disk that speaks PCI I/O is its controller. */
    EFI_DEVICE_PATH *rest = path;
    EFI_HANDLE controller;
    EFI_PCI_IO *pci = NULL;
    if (EFI_ERROR(uefi_call_wrapper(BS->LocateDevicePath, 3, &PciIoProtocol, &rest, &controller)) ||
        EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, controller, &PciIoProtocol, (void **)&pci)))
        return;
    UINTN seg, bus, dev, fn;
    if (EFI_ERROR(uefi_call_wrapper(pci->GetLocation, 5, pci, &seg, &bus, &dev, &fn)))
        return;
    bi->boot_pci_segment = (UINT16)seg;
    bi->boot_pci_bus = (UINT8)bus;
    bi->boot_pci_dev = (UINT8)dev;
    bi->boot_pci_fn = (UINT8)fn;
}
