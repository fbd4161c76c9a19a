package host

import (
	"context"
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// withMemoryAllocator makes the instances created under ctx reserve their
// linear memory's maximum as one anonymous mapping, so that memory.grow only
// lengthens a slice. wazero's own memory grows by append: a rule growing a
// page at a time to 64 MiB made Go reallocate, copy and garbage-collect its
// way through about five times that, 65-560 ms on the project's machine,
// where the mapping takes 3-4 ms (the kernel zeroes each page on first
// touch). Untouched pages cost no memory: the reservation is virtual, and
// MAP_NORESERVE keeps it from counting against overcommit.
func withMemoryAllocator(ctx context.Context) context.Context {
	return experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(newMappedMemory))
}

// mappedMemory is a linear memory backed by a private anonymous mapping of
// its maximum size.
type mappedMemory struct {
	buf    []byte // the whole reservation
	mapped bool   // buf is a mapping (else a Go slice: mmap failed)
}

func newMappedMemory(_, max uint64) experimental.LinearMemory {
	m := &mappedMemory{}
	if max == 0 {
		return m
	}
	b, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_NORESERVE)
	if err != nil {
		// wazero panics if the minimum is not there; a Go slice of the
		// maximum is slower to grow into but always works.
		m.buf = make([]byte, max)
		return m
	}
	m.buf, m.mapped = b, true
	return m
}

// Reallocate returns the first size bytes of the reservation, or nil (a
// refused grow) past it.
func (m *mappedMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	if m.buf == nil {
		return []byte{}
	}
	return m.buf[:size:size]
}

// Free unmaps the memory; wazero calls it when the instance closes.
func (m *mappedMemory) Free() {
	if m.mapped {
		syscall.Munmap(m.buf)
	}
	m.buf, m.mapped = nil, false
}
