// Package vm/guest is what lbx does as /init, PID 1 of the appliance VM
// (package vm builds the image): mount the kernel's file systems, load
// the modules the image lists, find and mount the data disk (an ext4 file
// system labelled lbx-data: a whole disk first, else the image's own data
// partition), bring up the management NIC (a static address from the boot
// config, else DHCP) and stop the machine cleanly (sync, unmount,
// reboot(2)). cmd/lbx ties it to the appliance and the console login
// (package ctrlplane/console). Linux only; nothing here runs outside PID 1
// of the VM, except the pure helpers its tests exercise (ext4 labels,
// NIC choice).
package guest
