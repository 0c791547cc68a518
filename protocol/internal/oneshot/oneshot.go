// Package oneshot holds a secret state that exactly one taker gets: the parked nonces of a
// FROST presignature, say, which must make at most one signature share however many callers
// race for them.
//
// A Holder must never hand its state out twice, and never keep a reference to the state once
// it has been taken: from then on it holds only the reason the state is gone, so that a later
// caller learns why without reaching the secrets. Wiping the state is the taker's duty, except
// through Discard, which takes it and wipes it at once.
package oneshot

import (
	"errors"
	"sync"
)

// Wiper is a secret state that can erase itself.
type Wiper interface {
	// Wipe overwrites the state's secrets.
	Wipe()
}

// ErrTaken is why a state is gone when its taker gave no reason.
var ErrTaken = errors.New("oneshot: the state was taken already")

// Holder keeps one state until the first Take or Discard. Its methods are safe for concurrent
// use; the zero Holder holds nothing and has no reason, so use New.
type Holder[T Wiper] struct {
	mu    sync.Mutex
	state T
	held  bool
	gone  error // why state is no longer held; nil while it is
}

// New returns a Holder of state. state must be usable by its taker: a nil pointer is handed
// out as it is.
func New[T Wiper](state T) *Holder[T] {
	return &Holder[T]{state: state, held: true}
}

// Take hands the state to the caller, who must wipe it when done, and records why as the
// reason it is gone. Once the state is gone Take returns the reason recorded by the call that
// took it, and the zero T.
func (h *Holder[T]) Take(why error) (T, error) {
	if why == nil {
		why = ErrTaken
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var zero T
	if !h.held {
		return zero, h.reason()
	}
	state := h.state
	h.state, h.held, h.gone = zero, false, why // forget it: the taker owns it now
	return state, nil
}

// Discard takes the state with why and wipes it; once the state is gone it does nothing, so a
// taker that already holds it keeps it intact.
func (h *Holder[T]) Discard(why error) {
	if state, err := h.Take(why); err == nil {
		state.Wipe()
	}
}

// Gone reports why the state was taken, or nil while it is held.
func (h *Holder[T]) Gone() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held {
		return nil
	}
	return h.reason()
}

// reason is the recorded reason; a zero Holder, which never held a state, gives ErrTaken.
func (h *Holder[T]) reason() error {
	if h.gone == nil {
		return ErrTaken
	}
	return h.gone
}
