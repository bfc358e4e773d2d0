package vm

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ImageOptions are the inputs of Build.
type ImageOptions struct {
	// Binary is a statically linked lbx (CGO_ENABLED=0): the image's /init.
	Binary string
	// Out is the qcow2 to write (bin/lbx-appliance.qcow2); the raw disk
	// is written beside it with the .raw extension, and the manifest with
	// .manifest.
	Out string
	// WorkDir caches the downloaded kernel package and holds the
	// intermediate files (default: Out's directory/image-build).
	WorkDir string
	// KernelPackage is the Debian package whose kernel boots
	// (default linux-image-amd64, resolved to the versioned package it
	// depends on).
	KernelPackage string
	// Epoch is every time stamp in the image (SOURCE_DATE_EPOCH; default
	// the environment's, else 0).
	Epoch int64
	// Log receives progress lines; nil discards them.
	Log *slog.Logger
}

// Modules the guest loads, with what they depend on (read from each
// module's .modinfo): the virtio PCI transport, disk and NIC, ext4 and
// the crc32c ext4's metadata checksums need, and the virtio RNG.
var guestModules = []string{"virtio_pci", "virtio_blk", "virtio_net", "ext4", "crc32c_generic", "virtio_rng"}

// Kernel command line: the serial console and VGA, quiet; reboot 10 s
// after a panic.
const KernelCmdline = "console=tty0 console=ttyS0,115200 quiet loglevel=3 panic=10"

// Fixed identities of the disk, so the same inputs give the same bytes.
const (
	diskGUID     = "6c627800-0000-4000-8000-000000000001"
	espPartGUID  = "6c627800-0000-4000-8000-000000000002"
	dataPartGUID = "6c627800-0000-4000-8000-000000000003"
	dataFSUUID   = "6c627800-0000-4000-8000-000000000004"
	espVolumeID  = "6c627801"
	// DataLabel is the ext4 label of the data partition or data disk.
	DataLabel = "lbx-data"
)

// Partition sizes in MiB.
const (
	espMiB  = 96
	dataMiB = 64
)

// Build builds the appliance image; it returns the manifest's text.
func Build(o ImageOptions) (string, error) {
	if o.Binary == "" || o.Out == "" {
		return "", errors.New("image: Binary and Out must be given")
	}
	if o.WorkDir == "" {
		o.WorkDir = filepath.Join(filepath.Dir(o.Out), "image-build")
	}
	for _, p := range []*string{&o.WorkDir, &o.Out, &o.Binary} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return "", err
		}
		*p = abs
	}
	if o.KernelPackage == "" {
		o.KernelPackage = "linux-image-amd64"
	}
	if o.Epoch == 0 {
		if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
			e, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return "", fmt.Errorf("image: SOURCE_DATE_EPOCH %q: %w", s, err)
			}
			o.Epoch = e
		}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	for _, tool := range []string{"apt-get", "dpkg-deb", "objcopy", "mkfs.vfat", "mmd", "mcopy", "mke2fs", "sfdisk", "qemu-img"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("image: %s not found (README \"Boot it as a VM\" lists the Debian packages)", tool)
		}
	}
	if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
		return "", err
	}
	b := &builder{o: o}
	return b.run()
}

type builder struct {
	o        ImageOptions
	manifest []string
}

func (b *builder) note(format string, a ...any) {
	b.manifest = append(b.manifest, fmt.Sprintf(format, a...))
}

func (b *builder) path(name string) string { return filepath.Join(b.o.WorkDir, name) }

func (b *builder) run() (string, error) {
	stub := "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
	if _, err := os.Stat(stub); err != nil {
		return "", fmt.Errorf("image: %s: %w (install systemd-boot-efi)", stub, err)
	}
	kdir, kver, err := b.kernel()
	if err != nil {
		return "", err
	}
	vmlinuz := filepath.Join(kdir, "boot", "vmlinuz-"+kver)
	initrd, err := b.initramfs(kdir, kver)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(b.path("initrd.img"), initrd, 0o644); err != nil {
		return "", err
	}
	osrel := "NAME=lbx\nID=lbx\nPRETTY_NAME=\"lbx appliance\"\nVERSION_ID=" + kver + "\n"
	if err := os.WriteFile(b.path("os-release"), []byte(osrel), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(b.path("cmdline"), []byte(KernelCmdline+"\x00"), 0o644); err != nil {
		return "", err
	}
	b.note("cmdline %s", KernelCmdline)
	uki := b.path("BOOTX64.EFI")
	os.Remove(uki)
	// The stub's sections end well below 0x20000; the kernel (≈8 MB)
	// fits between 0x2000000 and 0x3000000; the initramfs comes last.
	if err := b.cmd("objcopy",
		"--add-section", ".osrel="+b.path("os-release"), "--change-section-vma", ".osrel=0x20000",
		"--add-section", ".cmdline="+b.path("cmdline"), "--change-section-vma", ".cmdline=0x30000",
		"--add-section", ".linux="+vmlinuz, "--change-section-vma", ".linux=0x2000000",
		"--add-section", ".initrd="+b.path("initrd.img"), "--change-section-vma", ".initrd=0x3000000",
		stub, uki); err != nil {
		return "", err
	}
	if err := fixPETimestamp(uki, b.o.Epoch); err != nil {
		return "", fmt.Errorf("image: %s: %w", uki, err)
	}
	if err := b.hashNote("uki", uki); err != nil {
		return "", err
	}
	if st, err := os.Stat(uki); err == nil && st.Size() > (espMiB-4)<<20 {
		return "", fmt.Errorf("image: the kernel image (%d bytes) does not fit the %d MiB ESP", st.Size(), espMiB)
	}
	esp, err := b.esp(uki)
	if err != nil {
		return "", err
	}
	data, err := b.dataPartition()
	if err != nil {
		return "", err
	}
	raw := strings.TrimSuffix(b.o.Out, filepath.Ext(b.o.Out)) + ".raw"
	if err := b.disk(raw, esp, data); err != nil {
		return "", err
	}
	tmp := b.o.Out + ".tmp"
	os.Remove(tmp)
	if err := b.cmd("qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", raw, tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, b.o.Out); err != nil {
		return "", err
	}
	if err := b.hashNote("raw", raw); err != nil {
		return "", err
	}
	text := strings.Join(b.manifest, "\n") + "\n"
	mpath := strings.TrimSuffix(b.o.Out, filepath.Ext(b.o.Out)) + ".manifest"
	if err := os.WriteFile(mpath, []byte(text), 0o644); err != nil {
		return "", err
	}
	return text, nil
}

func (b *builder) cmd(name string, args ...string) error {
	return b.cmdIn("", nil, name, args...)
}

func (b *builder) cmdIn(dir string, env []string, name string, args ...string) error {
	c := exec.Command(name, args...)
	c.Dir = dir
	c.Env = append(os.Environ(), env...)
	out, err := c.CombinedOutput()
	if err != nil {
		return fmt.Errorf("image: %s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

func (b *builder) output(name string, args ...string) (string, error) {
	c := exec.Command(name, args...)
	c.Dir = b.o.WorkDir
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return "", fmt.Errorf("image: %s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return strings.TrimSpace(string(out)), nil
}

func (b *builder) hashNote(what, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	b.note("sha256 %s %s %d", what, hex.EncodeToString(h.Sum(nil)), n)
	return nil
}

// kernel downloads (once; the .deb is kept in WorkDir) and unpacks the
// kernel package; it returns the unpacked tree and the kernel release.
func (b *builder) kernel() (dir, release string, err error) {
	pkg := b.o.KernelPackage
	// The meta package names the versioned one it depends on.
	ver, err := b.output("apt-cache", "policy", pkg)
	if err != nil {
		return "", "", err
	}
	cand := ""
	for _, l := range strings.Split(ver, "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "Candidate:" {
			cand = f[1]
		}
	}
	if cand == "" || cand == "(none)" {
		return "", "", fmt.Errorf("image: apt knows no %s (run apt-get update)", pkg)
	}
	meta, err := b.fetchDeb(pkg, cand)
	if err != nil {
		return "", "", err
	}
	b.note("package %s %s", pkg, cand)
	dep, err := b.output("dpkg-deb", "-f", meta, "Depends")
	if err != nil {
		return "", "", err
	}
	real, realVer := pkg, cand
	for _, d := range strings.Split(dep, ",") {
		d = strings.TrimSpace(d)
		if strings.HasPrefix(d, "linux-image-") {
			f := strings.Fields(d)
			real = f[0]
			if len(f) >= 3 {
				realVer = strings.TrimSuffix(f[2], ")")
			}
		}
	}
	deb := meta
	if real != pkg {
		if deb, err = b.fetchDeb(real, realVer); err != nil {
			return "", "", err
		}
		b.note("package %s %s", real, realVer)
	}
	dir = b.path("kernel-" + real + "-" + realVer)
	if _, err := os.Stat(filepath.Join(dir, "boot")); err != nil {
		os.RemoveAll(dir)
		if err := b.cmd("dpkg-deb", "-x", deb, dir); err != nil {
			return "", "", err
		}
	}
	ks, _ := filepath.Glob(filepath.Join(dir, "boot", "vmlinuz-*"))
	if len(ks) != 1 {
		return "", "", fmt.Errorf("image: %s holds %d kernels, want 1", deb, len(ks))
	}
	release = strings.TrimPrefix(filepath.Base(ks[0]), "vmlinuz-")
	b.note("kernel %s", release)
	return dir, release, nil
}

// fetchDeb downloads pkg=version into WorkDir unless it is there.
func (b *builder) fetchDeb(pkg, version string) (string, error) {
	arch := "amd64"
	name := fmt.Sprintf("%s_%s_%s.deb", pkg, strings.ReplaceAll(version, ":", "%3a"), arch)
	p := b.path(name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	b.o.Log.Info("image: downloading", "package", pkg, "version", version)
	c := exec.Command("apt-get", "download", pkg+"="+version)
	c.Dir = b.o.WorkDir
	if out, err := c.CombinedOutput(); err != nil {
		return "", fmt.Errorf("image: apt-get download %s=%s: %w: %s", pkg, version, err, bytes.TrimSpace(out))
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("image: apt-get download %s did not give %s", pkg, name)
	}
	return p, nil
}

// moduleName is a module's name as modinfo knows it (- and _ are one).
func moduleName(file string) string {
	n := strings.TrimSuffix(filepath.Base(file), ".ko")
	return strings.ReplaceAll(n, "-", "_")
}

// moduleDepends reads a module's depends= from its .modinfo section.
func moduleDepends(file string) ([]string, error) {
	f, err := elf.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := f.Section(".modinfo")
	if s == nil {
		return nil, fmt.Errorf("%s: no .modinfo", file)
	}
	data, err := s.Data()
	if err != nil {
		return nil, err
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			if len(v) == 0 {
				return nil, nil
			}
			var deps []string
			for _, d := range strings.Split(string(v), ",") {
				deps = append(deps, strings.ReplaceAll(d, "-", "_"))
			}
			return deps, nil
		}
	}
	return nil, nil
}

// moduleOrder is the load order of want and what it depends on,
// dependencies first, with their paths.
func moduleOrder(modDir string, want []string) ([]string, error) {
	paths := map[string]string{}
	err := filepath.WalkDir(modDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".ko") {
			paths[moduleName(p)] = p
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string) error
	visit = func(m string) error {
		switch state[m] {
		case 1:
			return fmt.Errorf("module dependency cycle at %s", m)
		case 2:
			return nil
		}
		p, ok := paths[m]
		if !ok {
			return fmt.Errorf("module %s not in the kernel package", m)
		}
		state[m] = 1
		deps, err := moduleDepends(p)
		if err != nil {
			return err
		}
		sort.Strings(deps)
		for _, d := range deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[m] = 2
		order = append(order, p)
		return nil
	}
	for _, m := range want {
		if err := visit(m); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// initramfs is the gzipped newc archive: /init (lbx), the modules and
// their load order, the manifest, and the mount points.
func (b *builder) initramfs(kdir, kver string) ([]byte, error) {
	bin, err := os.ReadFile(b.o.Binary)
	if err != nil {
		return nil, fmt.Errorf("image: lbx binary: %w", err)
	}
	if f, err := elf.Open(b.o.Binary); err != nil {
		return nil, fmt.Errorf("image: lbx binary %s: %w", b.o.Binary, err)
	} else {
		interp := f.Section(".interp")
		f.Close()
		if interp != nil {
			return nil, fmt.Errorf("image: lbx binary %s is dynamically linked; build it with CGO_ENABLED=0", b.o.Binary)
		}
	}
	sum := sha256.Sum256(bin)
	b.note("sha256 lbx %s %d", hex.EncodeToString(sum[:]), len(bin))
	mods, err := moduleOrder(filepath.Join(kdir, "lib", "modules", kver, "kernel"), guestModules)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	entries := []cpioEntry{{Name: "init", Mode: cpioFile | 0o755, Data: bin}}
	for _, d := range []string{"dev", "proc", "sys", "run", "tmp", "data", "var", "var/lib", "etc", "etc/lbx", "lib", "lib/modules"} {
		entries = append(entries, cpioEntry{Name: d, Mode: cpioDir | 0o755})
	}
	var order []string
	for _, p := range mods {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		name := "lib/modules/" + filepath.Base(p)
		entries = append(entries, cpioEntry{Name: name, Mode: cpioFile | 0o644, Data: data})
		order = append(order, "/"+name)
		b.note("module %s", filepath.Base(p))
	}
	entries = append(entries,
		cpioEntry{Name: "etc/lbx/modules", Mode: cpioFile | 0o644, Data: []byte(strings.Join(order, "\n") + "\n")},
		cpioEntry{Name: "etc/lbx/image.manifest", Mode: cpioFile | 0o644, Data: []byte(strings.Join(b.manifest, "\n") + "\n")},
		cpioEntry{Name: "etc/lbx/kernel-release", Mode: cpioFile | 0o644, Data: []byte(kver + "\n")},
		// /var/lib/lbx is the data partition (the boot config's saved path).
		cpioEntry{Name: "var/lib/lbx", Mode: cpioLink | 0o777, Data: []byte("/data")},
	)
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if err := writeCpio(zw, entries, b.o.Epoch); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// esp makes the FAT EFI system partition holding the UKI.
func (b *builder) esp(uki string) (string, error) {
	img := b.path("esp.img")
	os.Remove(img)
	if err := os.Chtimes(uki, unixTime(b.o.Epoch), unixTime(b.o.Epoch)); err != nil {
		return "", err
	}
	env := []string{fmt.Sprintf("SOURCE_DATE_EPOCH=%d", b.o.Epoch)}
	if err := b.cmdIn("", env, "mkfs.vfat", "--invariant", "-F", "32", "-i", espVolumeID, "-n", "LBX-ESP", "-C", img, strconv.Itoa(espMiB*1024)); err != nil {
		return "", err
	}
	if err := b.cmdIn("", env, "mmd", "-i", img, "::/EFI", "::/EFI/BOOT"); err != nil {
		return "", err
	}
	if err := b.cmdIn("", env, "mcopy", "-m", "-i", img, uki, "::/EFI/BOOT/BOOTX64.EFI"); err != nil {
		return "", err
	}
	return img, nil
}

// dataPartition makes the empty ext4 data partition.
func (b *builder) dataPartition() (string, error) {
	img := b.path("data.img")
	os.Remove(img)
	return img, MakeDataFS(img, dataMiB, "", b.o.Epoch)
}

// MakeDataFS writes an ext4 file system labelled lbx-data of sizeMiB at
// path, holding the files of dir (when set: a boot.yaml to seed).
func MakeDataFS(path string, sizeMiB int, dir string, epoch int64) error {
	args := []string{"-q", "-F", "-t", "ext4", "-L", DataLabel, "-U", dataFSUUID,
		"-E", "hash_seed=" + dataFSUUID + ",root_owner=0:0", "-m", "0"}
	if dir != "" {
		args = append(args, "-d", dir)
	}
	args = append(args, path, fmt.Sprintf("%dM", sizeMiB))
	c := exec.Command("mke2fs", args...)
	// mke2fs takes 0 for "no fake time": the epoch's first second then.
	c.Env = append(os.Environ(), fmt.Sprintf("E2FSPROGS_FAKE_TIME=%d", max(epoch, 1)))
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("mke2fs %s: %w: %s", path, err, bytes.TrimSpace(out))
	}
	return nil
}

// disk assembles the GPT disk: 1 MiB, the ESP, the data partition, and
// room for the backup GPT.
func (b *builder) disk(raw, esp, data string) error {
	const mib = 1 << 20
	total := int64(1+espMiB+dataMiB+1) * mib
	os.Remove(raw)
	f, err := os.Create(raw)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(total); err != nil {
		return err
	}
	script := fmt.Sprintf("label: gpt\nlabel-id: %s\nunit: sectors\nfirst-lba: 2048\n"+
		"start=2048, size=%d, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=%s, name=\"EFI system\"\n"+
		"start=%d, size=%d, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=%s, name=\"%s\"\n",
		diskGUID, espMiB*2048, espPartGUID, (1+espMiB)*2048, dataMiB*2048, dataPartGUID, DataLabel)
	c := exec.Command("sfdisk", "-q", "--no-reread", "--no-tell-kernel", raw)
	c.Stdin = strings.NewReader(script)
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("image: sfdisk: %w: %s", err, bytes.TrimSpace(out))
	}
	for _, p := range []struct {
		file string
		off  int64
	}{{esp, 1 * mib}, {data, (1 + espMiB) * mib}} {
		src, err := os.Open(p.file)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.NewOffsetWriter(f, p.off), src)
		src.Close()
		if err != nil {
			return err
		}
	}
	return f.Close()
}
