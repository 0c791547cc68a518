// Command libmpcsigner-pkcs11 is the mpcsigner PKCS#11 module, built as a C shared library:
//
//	go build -buildmode=c-shared -o libmpcsigner-pkcs11.so \
//	  -ldflags=-extldflags=-Wl,--version-script=pkcs11/cmd/libmpcsigner-pkcs11/exports.map \
//	  ./pkcs11/cmd/libmpcsigner-pkcs11
//
// It exports only the C_* symbols (C_GetFunctionList, C_GetInterfaceList, C_GetInterface and
// the functions themselves). This file and entry.c are the only cgo code of the repository:
// they convert C arguments to Go values, call package token, and write results back. They
// decide no CKR_* code themselves beyond argument checks (NULL pointers, lengths).
//
// It must never hold or cache a key share, never run a protocol for a length query, never
// hang, and never run Go code in a forked child (entry.c checks the pid before calling in).
// Configuration: the file named by MPCSIGNER_PKCS11_CONF (default /etc/mpcsigner/pkcs11.yaml),
// see token.Config.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#include "mpcsigner_pkcs11.h"
#include <stdlib.h>
*/
import "C"

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"github.com/mpcsigner/mpcsigner/pkcs11/token"
)

func main() {}

var (
	modMu   sync.Mutex
	mod     *token.Module
	handles = token.NewHandles() // object handles stay valid across C_Finalize/C_Initialize
)

// maxBuffer caps how much of a caller's buffer is viewed from Go.
const maxBuffer = 1 << 30

func current() *token.Module {
	modMu.Lock()
	defer modMu.Unlock()
	return mod
}

// recoverRV turns a panic into CKR_GENERAL_ERROR: a bug must not crash the host application.
func recoverRV(rv *C.CK_RV) {
	if r := recover(); r != nil {
		fmt.Fprintf(os.Stderr, "libmpcsigner-pkcs11: internal error: %v\n", r)
		*rv = C.CK_RV(token.CKR_GENERAL_ERROR)
	}
}

func rvOf(err error) C.CK_RV { return C.CK_RV(token.ToCKR(token.OpOther, err)) }

const (
	rvOK          = C.CK_RV(token.CKR_OK)
	rvArgsBad     = C.CK_RV(token.CKR_ARGUMENTS_BAD)
	rvNotInit     = C.CK_RV(token.CKR_CRYPTOKI_NOT_INITIALIZED)
	rvTooSmall    = C.CK_RV(token.CKR_BUFFER_TOO_SMALL)
	rvTemplateBad = C.CK_RV(token.CKR_TEMPLATE_INCONSISTENT)
)

// goBytes views a C buffer; ok is false for a NULL pointer with a non-zero length.
func goBytes(p *C.CK_BYTE, n C.CK_ULONG) ([]byte, bool) {
	if n == 0 {
		return nil, true
	}
	if p == nil || uint64(n) > maxBuffer {
		return nil, false
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n)), true
}

// padded copies s into a blank-padded fixed-size C character array.
func padded(dst []C.CK_UTF8CHAR, s string) {
	for i := range dst {
		dst[i] = ' '
	}
	for i := 0; i < len(s) && i < len(dst); i++ {
		dst[i] = C.CK_UTF8CHAR(s[i])
	}
}

// template copies a C template into Go.
func template(p *C.CK_ATTRIBUTE, n C.CK_ULONG) ([]token.Attribute, C.CK_RV) {
	if n == 0 {
		return nil, rvOK
	}
	if p == nil {
		return nil, rvArgsBad
	}
	if n > token.MaxTemplateLen {
		return nil, rvTemplateBad
	}
	out := make([]token.Attribute, 0, int(n))
	for _, a := range unsafe.Slice(p, int(n)) {
		if a.ulValueLen > token.MaxAttributeLen {
			return nil, C.CK_RV(token.CKR_ATTRIBUTE_VALUE_INVALID)
		}
		v, ok := goBytes((*C.CK_BYTE)(a.pValue), a.ulValueLen)
		if !ok {
			return nil, rvArgsBad
		}
		out = append(out, token.Attribute{Type: uint(a._type), Value: bytes.Clone(v)})
	}
	return out, rvOK
}

// ulongList writes a list with the PKCS#11 length rules (NULL list → count only).
func ulongList(vals []uint, p *C.CK_ULONG, pCount *C.CK_ULONG) C.CK_RV {
	if pCount == nil {
		return rvArgsBad
	}
	if p == nil {
		*pCount = C.CK_ULONG(len(vals))
		return rvOK
	}
	if uint64(*pCount) < uint64(len(vals)) {
		*pCount = C.CK_ULONG(len(vals))
		return rvTooSmall
	}
	dst := unsafe.Slice(p, len(vals))
	for i, v := range vals {
		dst[i] = C.CK_ULONG(v)
	}
	*pCount = C.CK_ULONG(len(vals))
	return rvOK
}

// signature writes a signature (or its length) with C_Sign's output rules.
func signature(sig []byte, err error, p *C.CK_BYTE, pLen *C.CK_ULONG) C.CK_RV {
	rv := rvOf(err)
	switch {
	case rv == rvTooSmall || (rv == rvOK && sig == nil):
		*pLen = C.CK_ULONG(token.SignatureLen)
	case rv == rvOK:
		copy(unsafe.Slice((*byte)(unsafe.Pointer(p)), len(sig)), sig)
		*pLen = C.CK_ULONG(len(sig))
	}
	return rv
}

func capacity(p *C.CK_BYTE, pLen *C.CK_ULONG) (int, bool) {
	if p == nil {
		return 0, true
	}
	return int(min(uint64(*pLen), maxBuffer)), false
}

//export goInitialize
func goInitialize(pArgs C.CK_VOID_PTR) (rv C.CK_RV) {
	defer recoverRV(&rv)
	if pArgs != nil {
		a := (*C.CK_C_INITIALIZE_ARGS)(pArgs)
		set := 0
		for _, f := range []unsafe.Pointer{unsafe.Pointer(a.CreateMutex), unsafe.Pointer(a.DestroyMutex), unsafe.Pointer(a.LockMutex), unsafe.Pointer(a.UnlockMutex)} {
			if f != nil {
				set++
			}
		}
		if r := token.CheckInitArgs(set, uint(a.flags), a.pReserved != nil); r != token.CKR_OK {
			return C.CK_RV(r)
		}
	}
	modMu.Lock()
	defer modMu.Unlock()
	if mod != nil {
		return C.CK_RV(token.CKR_CRYPTOKI_ALREADY_INITIALIZED)
	}
	m, err := token.Open(liveGetenv, handles)
	if err != nil {
		fmt.Fprintf(os.Stderr, "libmpcsigner-pkcs11: %v\n", err)
		return C.CK_RV(token.CKR_GENERAL_ERROR)
	}
	mod = m
	return rvOK
}

// liveGetenv reads the process's environment as it is now. os.Getenv would not do: the Go
// runtime of a c-shared library copies the environment the process started with, so a
// variable the application sets before loading the module (MPCSIGNER_PKCS11_CONF, say) would
// be invisible.
func liveGetenv(name string) string {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	v := C.getenv(cname)
	if v == nil {
		return ""
	}
	return C.GoString(v)
}

//export goFinalize
func goFinalize(pReserved C.CK_VOID_PTR) (rv C.CK_RV) {
	defer recoverRV(&rv)
	if pReserved != nil {
		return rvArgsBad
	}
	modMu.Lock()
	defer modMu.Unlock()
	if mod == nil {
		return rvNotInit
	}
	mod.Close()
	mod = nil
	return rvOK
}

//export goGetInfo
func goGetInfo(p *C.CK_INFO) (rv C.CK_RV) {
	defer recoverRV(&rv)
	if current() == nil {
		return rvNotInit
	}
	if p == nil {
		return rvArgsBad
	}
	p.cryptokiVersion = C.CK_VERSION{major: 3, minor: 0}
	padded(p.manufacturerID[:], "mpcsigner")
	p.flags = 0
	padded(p.libraryDescription[:], "mpcsigner threshold PKCS#11")
	p.libraryVersion = C.CK_VERSION{major: 0, minor: 1}
	return rvOK
}

//export goGetSlotList
func goGetSlotList(present C.CK_BBOOL, p *C.CK_SLOT_ID, pCount *C.CK_ULONG) (rv C.CK_RV) {
	defer recoverRV(&rv)
	if current() == nil {
		return rvNotInit
	}
	return ulongList(token.SlotList(), (*C.CK_ULONG)(p), pCount)
}

//export goGetSlotInfo
func goGetSlotInfo(slot C.CK_SLOT_ID, p *C.CK_SLOT_INFO) (rv C.CK_RV) {
	defer recoverRV(&rv)
	if current() == nil {
		return rvNotInit
	}
	si, err := token.GetSlotInfo(uint(slot))
	if err != nil {
		return rvOf(err)
	}
	if p == nil {
		return rvArgsBad
	}
	padded(p.slotDescription[:], si.Description)
	padded(p.manufacturerID[:], si.Manufacturer)
	p.flags = C.CK_FLAGS(si.Flags)
	p.hardwareVersion = C.CK_VERSION{major: 0, minor: 1}
	p.firmwareVersion = C.CK_VERSION{major: 0, minor: 1}
	return rvOK
}

//export goGetTokenInfo
func goGetTokenInfo(slot C.CK_SLOT_ID, p *C.CK_TOKEN_INFO) (rv C.CK_RV) {
	defer recoverRV(&rv)
	m := current()
	if m == nil {
		return rvNotInit
	}
	ti, err := m.GetTokenInfo(uint(slot))
	if err != nil {
		return rvOf(err)
	}
	if p == nil {
		return rvArgsBad
	}
	padded(p.label[:], ti.Label)
	padded(p.manufacturerID[:], ti.Manufacturer)
	padded(p.model[:], ti.Model)
	padded((*[16]C.CK_UTF8CHAR)(unsafe.Pointer(&p.serialNumber))[:], ti.Serial)
	p.flags = C.CK_FLAGS(ti.Flags)
	p.ulMaxSessionCount, p.ulMaxRwSessionCount = 0, 0 // CK_EFFECTIVELY_INFINITE
	p.ulSessionCount, p.ulRwSessionCount = C.CK_ULONG(ti.Sessions), C.CK_ULONG(ti.RWSessions)
	p.ulMaxPinLen, p.ulMinPinLen = C.CK_ULONG(ti.MaxPINLen), C.CK_ULONG(ti.MinPINLen)
	un := C.CK_ULONG(token.CK_UNAVAILABLE_INFORMATION)
	p.ulTotalPublicMemory, p.ulFreePublicMemory, p.ulTotalPrivateMemory, p.ulFreePrivateMemory = un, un, un, un
	p.hardwareVersion = C.CK_VERSION{major: 0, minor: 1}
	p.firmwareVersion = C.CK_VERSION{major: 0, minor: 1}
	padded((*[16]C.CK_UTF8CHAR)(unsafe.Pointer(&p.utcTime))[:], "")
	return rvOK
}

//export goGetMechanismList
func goGetMechanismList(slot C.CK_SLOT_ID, p *C.CK_MECHANISM_TYPE, pCount *C.CK_ULONG) (rv C.CK_RV) {
	defer recoverRV(&rv)
	if current() == nil {
		return rvNotInit
	}
	mechs, err := token.MechanismList(uint(slot))
	if err != nil {
		return rvOf(err)
	}
	return ulongList(mechs, (*C.CK_ULONG)(p), pCount)
}

//export goGetMechanismInfo
func goGetMechanismInfo(slot C.CK_SLOT_ID, mech C.CK_MECHANISM_TYPE, p *C.CK_MECHANISM_INFO) (rv C.CK_RV) {
	defer recoverRV(&rv)
	if current() == nil {
		return rvNotInit
	}
	mi, err := token.GetMechanismInfo(uint(slot), uint(mech))
	if err != nil {
		return rvOf(err)
	}
	if p == nil {
		return rvArgsBad
	}
	p.ulMinKeySize, p.ulMaxKeySize, p.flags = C.CK_ULONG(mi.MinKeySize), C.CK_ULONG(mi.MaxKeySize), C.CK_FLAGS(mi.Flags)
	return rvOK
}

//export goOpenSession
func goOpenSession(slot C.CK_SLOT_ID, flags C.CK_FLAGS, ph *C.CK_SESSION_HANDLE) (rv C.CK_RV) {
	defer recoverRV(&rv)
	m := current()
	if m == nil {
		return rvNotInit
	}
	if ph == nil {
		return rvArgsBad
	}
	h, err := m.OpenSession(uint(slot), uint(flags))
	if err == nil {
		*ph = C.CK_SESSION_HANDLE(h)
	}
	return rvOf(err)
}

// withModule runs f with the current module, or answers CKR_CRYPTOKI_NOT_INITIALIZED.
func withModule(rv *C.CK_RV, f func(m *token.Module) C.CK_RV) {
	defer recoverRV(rv)
	m := current()
	if m == nil {
		*rv = rvNotInit
		return
	}
	*rv = f(m)
}

//export goCloseSession
func goCloseSession(h C.CK_SESSION_HANDLE) (rv C.CK_RV) {
	withModule(&rv, func(m *token.Module) C.CK_RV { return rvOf(m.CloseSession(uint(h))) })
	return rv
}

//export goCloseAllSessions
func goCloseAllSessions(slot C.CK_SLOT_ID) (rv C.CK_RV) {
	withModule(&rv, func(m *token.Module) C.CK_RV { return rvOf(m.CloseAllSessions(uint(slot))) })
	return rv
}

//export goGetSessionInfo
func goGetSessionInfo(h C.CK_SESSION_HANDLE, p *C.CK_SESSION_INFO) (rv C.CK_RV) {
	withModule(&rv, func(m *token.Module) C.CK_RV {
		si, err := m.GetSessionInfo(uint(h))
		if err != nil {
			return rvOf(err)
		}
		if p == nil {
			return rvArgsBad
		}
		p.slotID, p.state, p.flags, p.ulDeviceError = C.CK_SLOT_ID(si.Slot), C.CK_STATE(si.State), C.CK_FLAGS(si.Flags), 0
		return rvOK
	})
	return rv
}

//export goLogin
func goLogin(h C.CK_SESSION_HANDLE, user C.CK_USER_TYPE, pPin *C.CK_UTF8CHAR, n C.CK_ULONG) (rv C.CK_RV) {
	withModule(&rv, func(m *token.Module) C.CK_RV {
		pin, ok := goBytes((*C.CK_BYTE)(pPin), n)
		if !ok {
			return rvArgsBad
		}
		return C.CK_RV(token.ToCKR(token.OpLogin, m.Login(uint(h), uint(user), pin)))
	})
	return rv
}

//export goLogout
func goLogout(h C.CK_SESSION_HANDLE) (rv C.CK_RV) {
	withModule(&rv, func(m *token.Module) C.CK_RV { return rvOf(m.Logout(uint(h))) })
	return rv
}

//export goDestroyObject
func goDestroyObject(h C.CK_SESSION_HANDLE, obj C.CK_OBJECT_HANDLE) (rv C.CK_RV) {
	withModule(&rv, func(m *token.Module) C.CK_RV { return rvOf(m.DestroyObject(uint(h), uint(obj))) })
	return rv
}

//export goGetAttributeValue
func goGetAttributeValue(h C.CK_SESSION_HANDLE, obj C.CK_OBJECT_HANDLE, p *C.CK_ATTRIBUTE, n C.CK_ULONG) (rv C.CK_RV) {
	withModule(&rv, func(m *token.Module) C.CK_RV {
		if n > 0 && p == nil {
			return rvArgsBad
		}
		if n > token.MaxTemplateLen {
			return rvTemplateBad
		}
		var attrs []C.CK_ATTRIBUTE
		if n > 0 {
			attrs = unsafe.Slice(p, int(n))
		}
		slots := make([]token.AttrSlot, len(attrs))
		for i, a := range attrs {
			slots[i] = token.AttrSlot{Type: uint(a._type), Query: a.pValue == nil}
			if a.pValue != nil && a.ulValueLen > 0 {
				slots[i].Buf = unsafe.Slice((*byte)(a.pValue), int(min(uint64(a.ulValueLen), maxBuffer)))
			}
		}
		r := m.GetAttributeValue(uint(h), uint(obj), slots)
		if r == token.CKR_OK || r == token.CKR_ATTRIBUTE_SENSITIVE || r == token.CKR_ATTRIBUTE_TYPE_INVALID || r == token.CKR_BUFFER_TOO_SMALL {
			for i := range attrs {
				attrs[i].ulValueLen = C.CK_ULONG(slots[i].Len)
			}
		}
		return C.CK_RV(r)
	})
	return rv
}

//export goSetAttributeValue
func goSetAttributeValue(h C.CK_SESSION_HANDLE, obj C.CK_OBJECT_HANDLE, p *C.CK_ATTRIBUTE, n C.CK_ULONG) (rv C.CK_RV) {
	withModule(&rv, func(m *token.Module) C.CK_RV {
		tmpl, r := template(p, n)
		if r != rvOK {
			return r
		}
		return rvOf(m.SetAttributeValue(uint(h), uint(obj), tmpl))
	})
	return rv
}

//export goFindObjectsInit
func goFindObjectsInit(h C.CK_SESSION_HANDLE, p *C.CK_ATTRIBUTE, n C.CK_ULONG) (rv C.CK_RV) {
	withModule(&rv, func(m *token.Module) C.CK_RV {
		tmpl, r := template(p, n)
		if r != rvOK {
			return r
		}
		return rvOf(m.FindObjectsInit(uint(h), tmpl))
	})
	return rv
}

//export goFindObjects
func goFindObjects(h C.CK_SESSION_HANDLE, p *C.CK_OBJECT_HANDLE, max C.CK_ULONG, pCount *C.CK_ULONG) (rv C.CK_RV) {
	withModule(&rv, func(m *token.Module) C.CK_RV {
		if pCount == nil || (p == nil && max > 0) {
			return rvArgsBad
		}
		found, err := m.FindObjects(uint(h), int(min(uint64(max), maxBuffer)))
		if err != nil {
			return rvOf(err)
		}
		if len(found) > 0 {
			dst := unsafe.Slice(p, len(found))
			for i, o := range found {
				dst[i] = C.CK_OBJECT_HANDLE(o)
			}
		}
		*pCount = C.CK_ULONG(len(found))
		return rvOK
	})
	return rv
}

//export goFindObjectsFinal
func goFindObjectsFinal(h C.CK_SESSION_HANDLE) (rv C.CK_RV) {
	withModule(&rv, func(m *token.Module) C.CK_RV { return rvOf(m.FindObjectsFinal(uint(h))) })
	return rv
}

// mechanism reads a CK_MECHANISM. The parameter block is viewed, not copied: package token
// reads it during the call (and decides whether the mechanism takes it).
func mechanism(p *C.CK_MECHANISM) (token.Mechanism, C.CK_RV) {
	if p == nil {
		return token.Mechanism{}, rvArgsBad
	}
	param, ok := goBytes((*C.CK_BYTE)(p.pParameter), p.ulParameterLen)
	if !ok {
		return token.Mechanism{}, rvArgsBad
	}
	return token.Mechanism{Type: uint(p.mechanism), Param: param}, rvOK
}

//export goSignInit
func goSignInit(h C.CK_SESSION_HANDLE, pMech *C.CK_MECHANISM, key C.CK_OBJECT_HANDLE) (rv C.CK_RV) {
	withModule(&rv, func(m *token.Module) C.CK_RV {
		mech, r := mechanism(pMech)
		if r != rvOK {
			return r
		}
		return rvOf(m.SignInit(uint(h), mech, uint(key)))
	})
	return rv
}

//export goSign
func goSign(h C.CK_SESSION_HANDLE, pData *C.CK_BYTE, n C.CK_ULONG, pSig *C.CK_BYTE, pSigLen *C.CK_ULONG) (rv C.CK_RV) {
	withModule(&rv, func(m *token.Module) C.CK_RV {
		data, ok := goBytes(pData, n)
		if !ok || pSigLen == nil {
			return rvArgsBad
		}
		capac, query := capacity(pSig, pSigLen)
		sig, err := m.Sign(uint(h), data, capac, query)
		return signature(sig, err, pSig, pSigLen)
	})
	return rv
}

//export goSignUpdate
func goSignUpdate(h C.CK_SESSION_HANDLE, pPart *C.CK_BYTE, n C.CK_ULONG) (rv C.CK_RV) {
	withModule(&rv, func(m *token.Module) C.CK_RV {
		part, ok := goBytes(pPart, n)
		if !ok {
			return rvArgsBad
		}
		return rvOf(m.SignUpdate(uint(h), part))
	})
	return rv
}

//export goSignFinal
func goSignFinal(h C.CK_SESSION_HANDLE, pSig *C.CK_BYTE, pSigLen *C.CK_ULONG) (rv C.CK_RV) {
	withModule(&rv, func(m *token.Module) C.CK_RV {
		if pSigLen == nil {
			return rvArgsBad
		}
		capac, query := capacity(pSig, pSigLen)
		sig, err := m.SignFinal(uint(h), capac, query)
		return signature(sig, err, pSig, pSigLen)
	})
	return rv
}

//export goVerifyInit
func goVerifyInit(h C.CK_SESSION_HANDLE, pMech *C.CK_MECHANISM, key C.CK_OBJECT_HANDLE) (rv C.CK_RV) {
	withModule(&rv, func(m *token.Module) C.CK_RV {
		mech, r := mechanism(pMech)
		if r != rvOK {
			return r
		}
		return rvOf(m.VerifyInit(uint(h), mech, uint(key)))
	})
	return rv
}

//export goVerify
func goVerify(h C.CK_SESSION_HANDLE, pData *C.CK_BYTE, n C.CK_ULONG, pSig *C.CK_BYTE, sigLen C.CK_ULONG) (rv C.CK_RV) {
	withModule(&rv, func(m *token.Module) C.CK_RV {
		data, ok1 := goBytes(pData, n)
		sig, ok2 := goBytes(pSig, sigLen)
		if !ok1 || !ok2 {
			return rvArgsBad
		}
		return rvOf(m.Verify(uint(h), data, sig))
	})
	return rv
}

//export goVerifyUpdate
func goVerifyUpdate(h C.CK_SESSION_HANDLE, pPart *C.CK_BYTE, n C.CK_ULONG) (rv C.CK_RV) {
	withModule(&rv, func(m *token.Module) C.CK_RV {
		part, ok := goBytes(pPart, n)
		if !ok {
			return rvArgsBad
		}
		return rvOf(m.VerifyUpdate(uint(h), part))
	})
	return rv
}

//export goVerifyFinal
func goVerifyFinal(h C.CK_SESSION_HANDLE, pSig *C.CK_BYTE, sigLen C.CK_ULONG) (rv C.CK_RV) {
	withModule(&rv, func(m *token.Module) C.CK_RV {
		sig, ok := goBytes(pSig, sigLen)
		if !ok {
			return rvArgsBad
		}
		return rvOf(m.VerifyFinal(uint(h), sig))
	})
	return rv
}

//export goGenerateKeyPair
func goGenerateKeyPair(h C.CK_SESSION_HANDLE, pMech *C.CK_MECHANISM, pPub *C.CK_ATTRIBUTE, nPub C.CK_ULONG,
	pPriv *C.CK_ATTRIBUTE, nPriv C.CK_ULONG, phPub, phPriv *C.CK_OBJECT_HANDLE) (rv C.CK_RV) {
	withModule(&rv, func(m *token.Module) C.CK_RV {
		mech, r := mechanism(pMech)
		if r != rvOK {
			return r
		}
		if phPub == nil || phPriv == nil {
			return rvArgsBad
		}
		pub, r := template(pPub, nPub)
		if r != rvOK {
			return r
		}
		priv, r := template(pPriv, nPriv)
		if r != rvOK {
			return r
		}
		hPub, hPriv, err := m.GenerateKeyPair(uint(h), mech, pub, priv)
		if err == nil {
			*phPub, *phPriv = C.CK_OBJECT_HANDLE(hPub), C.CK_OBJECT_HANDLE(hPriv)
		}
		return C.CK_RV(token.ToCKR(token.OpGenerate, err))
	})
	return rv
}

//export goGenerateRandom
func goGenerateRandom(h C.CK_SESSION_HANDLE, p *C.CK_BYTE, n C.CK_ULONG) (rv C.CK_RV) {
	withModule(&rv, func(m *token.Module) C.CK_RV {
		buf, ok := goBytes(p, n)
		if !ok {
			return rvArgsBad
		}
		return rvOf(m.GenerateRandom(uint(h), buf))
	})
	return rv
}
