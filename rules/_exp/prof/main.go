package main

import (
	"context"
	"fmt"
	"os"
	"sort"

	"github.com/fedmeter/fedmeter/host"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

var counting bool
var incl = map[string]int64{}
var self = map[string]int64{}
var calls = map[string]int{}

type frame struct {
	name  string
	entry int64
	child int64
}

var stack []frame
var gas api.Global

func g() int64 { return int64(gas.Get()) }

type lf struct{}

func (lf) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener { return l{def.DebugName()} }

type l struct{ name string }

func (x l) Before(ctx context.Context, mod api.Module, d api.FunctionDefinition, params []uint64, si experimental.StackIterator) {
	if counting {
		stack = append(stack, frame{name: x.name, entry: g()})
	}
}
func (x l) After(ctx context.Context, mod api.Module, d api.FunctionDefinition, results []uint64) {
	if counting && len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		used := f.entry - g()
		incl[f.name] += used
		self[f.name] += used - f.child
		calls[f.name]++
		if len(stack) > 0 {
			stack[len(stack)-1].child += used
		}
	}
}
func (x l) Abort(ctx context.Context, mod api.Module, d api.FunctionDefinition, err error) {}

func main() {
	ctx := experimental.WithFunctionListenerFactory(context.Background(), lf{})
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	code, _ := os.ReadFile(os.Args[1])
	p, err := host.Prepare(code)
	if err != nil {
		panic(err)
	}
	m, err := r.InstantiateWithConfig(ctx, p.Code, wazero.NewModuleConfig().WithStartFunctions())
	if err != nil {
		panic(err)
	}
	gas = m.ExportedGlobal("__fm_gas")
	set := func() { gas.(api.MutableGlobal).Set(1 << 50) }
	set()
	if f := m.ExportedFunction("__fm_start"); f != nil {
		f.Call(ctx)
	}
	set()
	if _, err := m.ExportedFunction("_initialize").Call(ctx); err != nil {
		panic(err)
	}
	fmt.Println("init gas", (1<<50)-g())
	in, _ := os.ReadFile(os.Args[2])
	set()
	counting = true
	res, err := m.ExportedFunction("fm_alloc").Call(ctx, uint64(len(in)))
	if err != nil {
		panic(err)
	}
	m.Memory().Write(uint32(res[0]), in)
	out, err := m.ExportedFunction("fm_bill").Call(ctx, res[0], uint64(len(in)))
	if err != nil {
		panic(err)
	}
	counting = false
	fmt.Println("call gas", (1<<50)-g())
	pp, n := uint32(out[0]>>32), uint32(out[0])
	b, _ := m.Memory().Read(pp, n)
	fmt.Println(string(b))
	type kv struct {
		k string
		v int64
	}
	var kvs []kv
	for k, v := range self {
		kvs = append(kvs, kv{k, v})
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].v > kvs[j].v })
	for _, e := range kvs[:min(25, len(kvs))] {
		fmt.Printf("self %8d incl %8d calls %4d %s\n", e.v, incl[e.k], calls[e.k], e.k)
	}
}
