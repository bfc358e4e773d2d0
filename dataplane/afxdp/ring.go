package afxdp

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ring is one of the four single-producer single-consumer rings shared with
// the kernel: a producer and a consumer index, a flags word (need_wakeup)
// and a power-of-two array of descriptors, all in one mapping. Each side
// reads the other's index with an atomic load (acquire) and publishes its
// own with an atomic store (release); the cached copies spare a load per
// descriptor.
type ring struct {
	mem      []byte
	producer *uint32
	consumer *uint32
	flags    *uint32
	descs    unsafe.Pointer
	mask     uint32
	size     uint32
	// cachedProd and cachedCons are this side's view of the indexes.
	cachedProd uint32
	cachedCons uint32
}

// mapRing maps the ring of n descriptors of descSize bytes at pgoff.
func mapRing(fd int, off unix.XDPRingOffset, pgoff int64, n uint32, descSize uintptr) (*ring, error) {
	length := int(off.Desc) + int(n)*int(descSize)
	mem, err := unix.Mmap(fd, pgoff, length, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("mmap ring: %w", err)
	}
	base := unsafe.Pointer(&mem[0])
	return &ring{
		mem:      mem,
		producer: (*uint32)(unsafe.Add(base, off.Producer)),
		consumer: (*uint32)(unsafe.Add(base, off.Consumer)),
		flags:    (*uint32)(unsafe.Add(base, off.Flags)),
		descs:    unsafe.Add(base, off.Desc),
		mask:     n - 1,
		size:     n,
	}, nil
}

func (r *ring) unmap() {
	if r != nil && r.mem != nil {
		unix.Munmap(r.mem)
		r.mem = nil
	}
}

// needWakeup reports whether the kernel asks for a system call to process
// this ring (XDP_RING_NEED_WAKEUP).
func (r *ring) needWakeup() bool {
	return atomic.LoadUint32(r.flags)&unix.XDP_RING_NEED_WAKEUP != 0
}

// Producer side (fill and tx rings: user space produces).

// free returns how many descriptors can be produced, up to want.
func (r *ring) free(want uint32) uint32 {
	n := r.size - (r.cachedProd - r.cachedCons)
	if n < want {
		r.cachedCons = atomic.LoadUint32(r.consumer)
		n = r.size - (r.cachedProd - r.cachedCons)
	}
	return min(n, want)
}

// submit publishes the descriptors written since the last submit.
func (r *ring) submit() { atomic.StoreUint32(r.producer, r.cachedProd) }

// pending reports how many produced descriptors the kernel has not consumed.
func (r *ring) pending() uint32 {
	return r.cachedProd - atomic.LoadUint32(r.consumer)
}

// Consumer side (rx and completion rings: the kernel produces).

// avail returns how many descriptors can be consumed, up to want.
func (r *ring) avail(want uint32) uint32 {
	n := r.cachedProd - r.cachedCons
	if n == 0 {
		r.cachedProd = atomic.LoadUint32(r.producer)
		n = r.cachedProd - r.cachedCons
	}
	return min(n, want)
}

// release gives n consumed descriptors back to the kernel.
func (r *ring) release(n uint32) {
	r.cachedCons += n
	atomic.StoreUint32(r.consumer, r.cachedCons)
}

// Descriptor access.

// addr is the UMEM address at index i of a fill or completion ring.
func (r *ring) addr(i uint32) *uint64 {
	return (*uint64)(unsafe.Add(r.descs, uintptr(i&r.mask)*8))
}

// desc is the descriptor at index i of an rx or tx ring.
func (r *ring) desc(i uint32) *unix.XDPDesc {
	return (*unix.XDPDesc)(unsafe.Add(r.descs, uintptr(i&r.mask)*unsafe.Sizeof(unix.XDPDesc{})))
}
