package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/fedmeter/fedmeter/host"
)

func main() {
	ctx := context.Background()
	code, _ := os.ReadFile(os.Args[2])
	p, err := host.Prepare(code)
	if err != nil {
		panic(err)
	}
	h, _ := host.New(ctx, host.Config{})
	m, err := h.Load(ctx, p)
	if err != nil {
		panic(err)
	}
	in, _ := os.ReadFile(os.Args[1])
	res, err := m.Bill(ctx, host.Call{Input: in})
	fmt.Println(res.GasUsed, err, len(res.Output))
	n := 2000
	t0 := time.Now()
	for i := 0; i < n; i++ {
		m.Bill(ctx, host.Call{Input: in})
	}
	fmt.Println("per call", time.Since(t0)/time.Duration(n))
}
