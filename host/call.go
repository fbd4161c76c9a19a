package host

import (
	"context"
	"errors"
	"fmt"

	"github.com/fedmeter/fedmeter/host/internal/wasi"
)

// ErrEvicted is returned by Bill on a Module the host's cache has closed.
var ErrEvicted = errors.New("module was evicted from the host's cache: Load it again")

// Bill runs the rule on one input. The result depends only on the module, the
// input, the gas limit, c.TxTime and c.TxID.
//
// Rule faults come back as typed errors (ErrOutOfGas, ErrTrap, ErrMemoryLimit,
// ErrStackLimit, ErrBadOutput, ErrRule) together with a Result carrying the
// gas used and the log, so a caller can record why a bill failed.
func (m *Module) Bill(ctx context.Context, c Call) (*Result, error) {
	if len(c.Input) > m.h.prof.MaxInputBytes {
		return nil, fmt.Errorf("bill: input of %d bytes is more than the limit of %d", len(c.Input), m.h.prof.MaxInputBytes)
	}
	limit := c.GasLimit
	if limit == 0 {
		limit = DefaultGasLimit
	}
	if limit > 1<<62 {
		return nil, fmt.Errorf("bill: gas limit %d is more than 2^62", limit)
	}
	if !m.acquire() {
		return nil, ErrEvicted
	}
	defer m.releaseRef()

	select {
	case m.h.calls <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-m.h.calls }()
	inst, err := m.get(ctx)
	if err != nil {
		return nil, err
	}
	// The restore get did is charged first: a module whose init left a
	// large memory costs every call that much (RATIONALE.md, "Calls").
	if m.restoreGas > limit {
		m.put(inst)
		return &Result{GasUsed: limit}, ErrOutOfGas
	}
	var nanos int64
	if !c.TxTime.IsZero() {
		nanos = c.TxTime.UnixNano()
	}
	st := wasi.NewState(m.wasiEnv(nanos, c.TxID))
	ctx = wasi.WithState(ctx, st)
	inst.gas.Set(limit - m.restoreGas)

	res := &Result{}
	out, err := m.run(ctx, inst, c.Input)
	// Injected code tests for exhaustion at loop heads and function
	// entries, so a call can return with a little negative gas: that is
	// out of gas too.
	if left := int64(inst.gas.Get()); err == nil && left < 0 {
		err = ErrOutOfGas
	} else if err == nil {
		res.GasUsed = limit - uint64(left)
	} else if errors.Is(err, ErrOutOfGas) {
		res.GasUsed = limit
	} else {
		res.GasUsed = limit - uint64(max(left, 0))
	}
	if errors.Is(err, ErrOutOfGas) {
		res.GasUsed = limit
	}
	res.Log, res.LogTruncated = st.Log(), st.LogTruncated()
	if err != nil {
		// A trapped instance may hold engine state we cannot inspect; do
		// not reuse it.
		m.discard(inst)
		return res, err
	}
	m.put(inst)
	res.Output = out
	bill, err := decodeOutput(out, m.h.prof)
	if err != nil {
		return res, err
	}
	res.Bill = *bill
	return res, nil
}

// run writes the input through fm_alloc and calls fm_bill, returning a copy of
// the output bytes.
func (m *Module) run(ctx context.Context, inst *instance, input []byte) ([]byte, error) {
	stack := inst.stack
	stack[0] = uint64(uint32(len(input)))
	if err := inst.alloc.CallWithStack(ctx, stack); err != nil {
		return nil, classify(inst, "call", err)
	}
	ptr := uint32(stack[0])
	if !inst.mem.Write(ptr, input) {
		return nil, badOutputf("fm_alloc(%d) returned %d, outside memory of %d bytes", len(input), ptr, inst.mem.Size())
	}
	stack[0], stack[1] = uint64(ptr), uint64(uint32(len(input)))
	if err := inst.bill.CallWithStack(ctx, stack); err != nil {
		return nil, classify(inst, "call", err)
	}
	outPtr, outLen := uint32(stack[0]>>32), uint32(stack[0])
	// Faults are reported in ABI order: where the output is (it must lie
	// in memory), then how big it is.
	out, ok := inst.mem.Read(outPtr, outLen)
	if !ok {
		return nil, badOutputf("output at %d (%d bytes) lies outside memory of %d bytes", outPtr, outLen, inst.mem.Size())
	}
	if int64(outLen) > int64(m.h.prof.MaxOutputBytes) {
		return nil, badOutputf("output of %d bytes is more than the limit of %d", outLen, m.h.prof.MaxOutputBytes)
	}
	return append([]byte(nil), out...), nil
}
