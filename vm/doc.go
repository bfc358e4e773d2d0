// Package vm builds the lbx appliance disk image and runs it under qemu.
//
// Build (`make image`, `lbx vm image`) assembles, without loop mounts or
// root, a GPT disk that boots with UEFI from the disk alone: an EFI system
// partition holding one Unified Kernel Image at \EFI\BOOT\BOOTX64.EFI
// (systemd-boot's stub, Debian's linux-image-amd64 kernel, an initramfs
// holding a static lbx as /init plus the kernel modules it loads, and the
// kernel command line), and an ext4 partition labelled lbx-data (the
// fallback data partition when no separate data disk is attached). The
// tools it runs are Debian's: apt-get download, dpkg-deb, objcopy,
// mkfs.vfat, mtools, mke2fs, sfdisk and qemu-img. Same inputs, same bytes:
// every time stamp is SOURCE_DATE_EPOCH, every UUID and serial is fixed.
//
// Run (`lbx vm run`) boots an image under qemu-system-x86_64 with OVMF,
// KVM when /dev/kvm works and TCG otherwise, its serial console on the
// terminal or on a unix socket, a user-mode management NIC and data NICs
// on TAP devices. Console drives a serial console over that socket with
// bounded expect-style waits (the tests use it).
//
// The guest side (what /init does) is package vm/guest.
package vm
