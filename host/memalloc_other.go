//go:build !linux

package host

import "context"

// withMemoryAllocator keeps wazero's own allocator off Linux: see
// memalloc_linux.go for why Linux maps memory instead.
func withMemoryAllocator(ctx context.Context) context.Context { return ctx }
