package host

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol/transport"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// A relay sent while its link is down waits for the link to come back and is delivered then;
// one that waits longer than allowed is reported lost; and no more than maxWaitingFrames wait.
func TestSendLaterWaitsForTheLink(t *testing.T) {
	far := make(chan net.Conn, 1)
	up := make(chan struct{})
	l := newLink("test", slog.New(slog.DiscardHandler), func(ctx context.Context) (net.Conn, error) {
		select {
		case <-up:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		a, b := net.Pipe()
		far <- b
		return a, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.run(ctx)

	frame := wire.Frame{Type: wire.FrameRelay, Body: []byte("round 2 for party 3")}
	if err := l.send(frame); err == nil {
		t.Fatal("a send on a link that never connected succeeded")
	}
	lost := make(chan error, 1)
	if !l.sendLater(frame, 20*time.Millisecond, func(err error) { lost <- err }) {
		t.Fatal("sendLater refused with nothing waiting")
	}
	if err := <-lost; err == nil {
		t.Fatal("a frame whose link stayed down past its wait was reported sent")
	}

	sent := make(chan error, 1)
	if !l.sendLater(frame, 10*time.Second, func(err error) { sent <- err }) {
		t.Fatal("sendLater refused with nothing waiting")
	}
	close(up) // the link comes back
	conn := transport.NewFrameConn(<-far)
	defer conn.Close()
	got, err := conn.Read()
	if err != nil || got.Type != wire.FrameRelay || string(got.Body) != string(frame.Body) {
		t.Fatalf("the far side read %v %q, %v", got.Type, got.Body, err)
	}
	if err := <-sent; err != nil {
		t.Fatalf("the delivered frame was reported %v", err)
	}
	if n := l.waiting.Load(); n != 0 {
		t.Fatalf("%d frames still counted as waiting", n)
	}

	l.waiting.Store(maxWaitingFrames)
	if l.sendLater(frame, time.Second, func(error) { t.Error("a refused frame's done ran") }) {
		t.Fatal("sendLater took a frame beyond maxWaitingFrames")
	}
	if l.waiting.Load() != maxWaitingFrames {
		t.Fatalf("a refused frame changed the waiting count to %d", l.waiting.Load())
	}
}
