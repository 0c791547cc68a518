package seal

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// SEVSNP is the Sealer of an AMD SEV-SNP confidential VM. It needs no service: the CVM's secure
// processor derives a key-encryption key (MSG_KEY_REQ) from a root key of the chip and this
// guest's launch MEASUREMENT and guest policy, and that key wraps the random data key, which is
// kept in a blob file next to the store.
//
// The first start (no file at BlobPath) reads the chip's COMMITTED_TCB, asks for the derived key
// at that TCB, makes a random data key, wraps it and publishes the blob atomically (never over
// an existing one). Later starts ask for the same derived key, with the TCB recorded in the blob,
// and unwrap. The same image (measurement and policy) on the same chip therefore gets the same
// data key across restarts; another image, another chip, or a secure processor rolled back below
// the recorded TCB derives another key, and the blob does not open (ErrUnseal). Upgrades and
// moves go through resharing (deploy/README.md), not through the blob.
//
// The derivation parameters come from this configuration, which is part of the measured image,
// never from the blob: a host that rewrote the blob's header cannot make the enclave accept a
// key derived without the measurement. The blob's header is authenticated data all the same,
// so a changed header fails to open rather than being misread.
type SEVSNP struct {
	// Device is the secure processor; NewSNPGuestDevice gives the guest's own.
	Device SNPDevice
	// BlobPath is where the wrapped data key is kept: written once, atomically, mode 0600, in a
	// directory private to the enclave's user.
	BlobPath string
	// RootKey is the chip key the derivation starts from: SNPRootVCEK (the default) or
	// SNPRootVMRK.
	RootKey SNPRootKey
}

var _ Sealer = SEVSNP{}

// SNPRootKey names the root key of MSG_KEY_REQ's derivation.
type SNPRootKey string

// Root keys of SEVSNP.
const (
	// SNPRootVCEK derives from the chip's Versioned Chip Endorsement Key: bound to this chip
	// and, through the TCB version mixed in, to its firmware level.
	SNPRootVCEK SNPRootKey = "vcek"
	// SNPRootVMRK derives from the VM Root Key, which a migration agent installs and carries
	// with the guest. Without a migration agent the secure processor has none and refuses.
	SNPRootVMRK SNPRootKey = "vmrk"
)

// SNPKeyRequest is one MSG_KEY_REQ, in the terms of the SEV-SNP firmware ABI.
type SNPKeyRequest struct {
	RootKey SNPRootKey
	// FieldSelect is GUEST_FIELD_SELECT: which launch facts the secure processor mixes in.
	FieldSelect uint64
	// VMPL is the privilege level mixed in; it must be at or above the caller's.
	VMPL uint32
	// TCBVersion is the TCB version mixed in; it must not exceed the chip's COMMITTED_TCB, so
	// firmware rolled back below it cannot derive the key.
	TCBVersion uint64
}

// SNPDevice is the part of the AMD secure processor the SEV-SNP sealer uses. Tests use a fake
// that derives deterministic keys from its launch facts and the request.
type SNPDevice interface {
	// CommittedTCB returns the chip's COMMITTED_TCB, from a fresh attestation report.
	CommittedTCB(ctx context.Context) (uint64, error)
	// DeriveKey returns the KeySize-byte key the secure processor derives for req from this
	// guest's launch facts.
	DeriveKey(ctx context.Context, req SNPKeyRequest) ([]byte, error)
}

// GUEST_FIELD_SELECT bits (SEV-SNP firmware ABI, MSG_KEY_REQ).
const (
	SNPFieldGuestPolicy uint64 = 1 << 0
	SNPFieldImageID     uint64 = 1 << 1
	SNPFieldFamilyID    uint64 = 1 << 2
	SNPFieldMeasurement uint64 = 1 << 3
	SNPFieldGuestSVN    uint64 = 1 << 4
	SNPFieldTCBVersion  uint64 = 1 << 5
)

// snpFieldSelect is what SEVSNP mixes in: the measurement and guest policy (so another image,
// or this image launched with DEBUG or a migration agent, derives another key) and the TCB
// version (so firmware below the level the blob was made at cannot derive it). Image and family
// IDs and the guest SVN are the ID block's: they name a product line rather than an image, and
// would let every image signed alike open the blob.
const snpFieldSelect = SNPFieldMeasurement | SNPFieldGuestPolicy | SNPFieldTCBVersion

// snpVMPL is the privilege level mixed in: the enclave runs at VMPL 0.
const snpVMPL = 0

// ErrNoSNPDevice means there is no SEV-SNP guest device to ask for a derived key.
var ErrNoSNPDevice = errors.New("no SEV-SNP guest device")

// SEV-SNP blob layout (all of it a fixed 85 bytes):
//
//	magic         4  "SNPK"
//	version       1  snpBlobV1
//	root key      1  0 VCEK, 1 VMRK (the ABI's ROOT_KEY_SELECT)
//	vmpl          1
//	reserved      1  zero
//	field select  8  GUEST_FIELD_SELECT, big-endian
//	tcb version   8  TCB_VERSION, big-endian
//	wrapped key  61  AEAD.Seal(data key, aad) under the key-encryption key: version, nonce,
//	                 ciphertext and tag
//
// The AEAD's associated data is snpBlobLabel followed by the 24-byte header.
const (
	snpBlobMagic     = "SNPK"
	snpBlobV1        = 1
	snpBlobHeaderLen = 24
	snpBlobLen       = snpBlobHeaderLen + Overhead + KeySize
	// snpBlobLabel separates this use of the derived key from any other.
	snpBlobLabel = "mpcsigner/v1 sev-snp sealed data key"
	// snpKEKInfo is the HKDF info that turns the secure processor's key into the KEK.
	snpKEKInfo = "mpcsigner/v1 sev-snp key-encryption key"
)

// snpHeader is a blob's parsed header.
type snpHeader struct {
	rootKey     SNPRootKey
	vmpl        uint32
	fieldSelect uint64
	tcb         uint64
}

// DataKey returns the data key, generating and saving it on first use. A blob that does not
// open returns an error wrapping ErrUnseal; a missing device, one wrapping ErrNoSNPDevice.
func (s SEVSNP) DataKey(ctx context.Context) ([]byte, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	blob, err := readSNPBlob(s.BlobPath)
	if err == nil {
		return s.open(ctx, blob)
	}
	if !isNotExist(err) {
		return nil, err
	}
	key, blob, err := s.create(ctx)
	if err != nil {
		return nil, err
	}
	saved, err := publishFileOnce(s.BlobPath, blob)
	if err != nil {
		clear(key)
		return nil, fmt.Errorf("seal: keep the new SEV-SNP data key blob: %w", err)
	}
	if saved {
		return key, nil
	}
	// Another process saved its blob first: that key is the enclave's from now on.
	clear(key)
	if blob, err = readSNPBlob(s.BlobPath); err != nil {
		return nil, err
	}
	return s.open(ctx, blob)
}

// rootKey is RootKey or its default.
func (s SEVSNP) rootKey() SNPRootKey {
	if s.RootKey == "" {
		return SNPRootVCEK
	}
	return s.RootKey
}

// check refuses an incomplete sealer or a finished ctx.
func (s SEVSNP) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("seal: SEV-SNP data key: %w", err)
	}
	if s.Device == nil {
		return fmt.Errorf("seal: SEV-SNP sealer has no secure processor device: build it with NewSNPGuestDevice: %w", ErrNoSNPDevice)
	}
	if s.BlobPath == "" {
		return errors.New("seal: SEV-SNP sealer has no blob path: configure sealer.sevsnp.blob_file")
	}
	if _, err := rootKeySelect(s.rootKey()); err != nil {
		return err
	}
	return nil
}

// create makes a new data key and its blob at the chip's committed TCB.
func (s SEVSNP) create(ctx context.Context) (key, blob []byte, err error) {
	tcb, err := s.Device.CommittedTCB(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("seal: read the SEV-SNP COMMITTED_TCB: %w", err)
	}
	h := snpHeader{rootKey: s.rootKey(), vmpl: snpVMPL, fieldSelect: snpFieldSelect, tcb: tcb}
	header, err := h.marshal()
	if err != nil {
		return nil, nil, err
	}
	aead, err := s.kek(ctx, h)
	if err != nil {
		return nil, nil, err
	}
	key = make([]byte, KeySize)
	// crypto/rand.Read never fails on supported platforms; it aborts the process instead.
	_, _ = rand.Read(key)
	blob = append(header, aead.Seal(key, snpAAD(header))...)
	return key, blob, nil
}

// open unwraps the data key in blob.
func (s SEVSNP) open(ctx context.Context, blob []byte) ([]byte, error) {
	h, err := parseSNPBlob(blob)
	if err != nil {
		return nil, fmt.Errorf("seal: SEV-SNP data key blob %s: %w", s.BlobPath, err)
	}
	if err := s.matches(h); err != nil {
		return nil, fmt.Errorf("seal: SEV-SNP data key blob %s: %w", s.BlobPath, err)
	}
	committed, err := s.Device.CommittedTCB(ctx)
	if err != nil {
		return nil, fmt.Errorf("seal: read the SEV-SNP COMMITTED_TCB: %w", err)
	}
	if !tcbAtMost(h.tcb, committed) {
		// The secure processor refuses to derive for a TCB above its committed one; say why
		// here rather than pass on its bare "invalid parameters".
		return nil, fmt.Errorf("seal: SEV-SNP data key blob %s was made at TCB %#016x, above this chip's COMMITTED_TCB %#016x "+
			"in some component: the firmware was rolled back, or the blob comes from another machine: %w", s.BlobPath, h.tcb, committed, ErrUnseal)
	}
	aead, err := s.kek(ctx, h)
	if err != nil {
		return nil, err
	}
	key, err := aead.Open(blob[snpBlobHeaderLen:], snpAAD(blob[:snpBlobHeaderLen]))
	if err != nil {
		return nil, fmt.Errorf("seal: SEV-SNP data key blob %s does not open with the key this CVM's secure processor derives "+
			"(root key %s, measurement, guest policy, TCB %#016x): it was made by another image or on another chip, or it is corrupted. "+
			"A new image or chip cannot open an old blob: bring the party back by resharing (deploy/README.md, restoring a party): %w",
			s.BlobPath, h.rootKey, h.tcb, ErrUnseal)
	}
	if len(key) != KeySize {
		clear(key)
		return nil, fmt.Errorf("seal: SEV-SNP data key blob %s holds a %d-byte key, want %d: %w", s.BlobPath, len(key), KeySize, ErrUnseal)
	}
	return key, nil
}

// matches refuses a blob made with other derivation parameters than this configuration's:
// those come from the measured configuration, never from the blob. Only the TCB is the blob's.
func (s SEVSNP) matches(h snpHeader) error {
	switch {
	case h.rootKey != s.rootKey():
		return fmt.Errorf("made with root key %s, the configuration says %s: set sealer.sevsnp.root_key back, "+
			"or reshare into a fresh party: %w", h.rootKey, s.rootKey(), ErrUnseal)
	case h.vmpl != snpVMPL || h.fieldSelect != snpFieldSelect:
		return fmt.Errorf("made with VMPL %d and guest field select %#x, this version derives with VMPL %d and %#x: %w",
			h.vmpl, h.fieldSelect, snpVMPL, snpFieldSelect, ErrUnseal)
	}
	return nil
}

// kek asks the secure processor for the derived key of h and turns it into the AEAD that wraps
// the data key.
func (s SEVSNP) kek(ctx context.Context, h snpHeader) (*AEAD, error) {
	derived, err := s.Device.DeriveKey(ctx, SNPKeyRequest{RootKey: h.rootKey, FieldSelect: h.fieldSelect, VMPL: h.vmpl, TCBVersion: h.tcb})
	if err != nil {
		return nil, fmt.Errorf("seal: ask the SEV-SNP secure processor for a derived key (root key %s, TCB %#016x): %w", h.rootKey, h.tcb, err)
	}
	defer clear(derived)
	if len(derived) != KeySize {
		return nil, fmt.Errorf("seal: the SEV-SNP secure processor returned a %d-byte derived key, want %d", len(derived), KeySize)
	}
	if bytes.Equal(derived, make([]byte, KeySize)) {
		// Some firmware answers an out-of-range TCB_VERSION with zeros instead of an error.
		return nil, fmt.Errorf("seal: the SEV-SNP secure processor returned an all-zero derived key (root key %s, TCB %#016x): "+
			"refusing it; check the host's SEV firmware", h.rootKey, h.tcb)
	}
	kek, err := hkdf.Key(sha256.New, derived, nil, snpKEKInfo, KeySize)
	if err != nil {
		return nil, fmt.Errorf("seal: derive the SEV-SNP key-encryption key: %w", err)
	}
	defer clear(kek)
	return NewAEAD(kek)
}

// marshal encodes the blob header.
func (h snpHeader) marshal() ([]byte, error) {
	sel, err := rootKeySelect(h.rootKey)
	if err != nil {
		return nil, err
	}
	out := make([]byte, snpBlobHeaderLen, snpBlobLen)
	copy(out, snpBlobMagic)
	out[4] = snpBlobV1
	out[5] = sel
	out[6] = byte(h.vmpl)
	binary.BigEndian.PutUint64(out[8:], h.fieldSelect)
	binary.BigEndian.PutUint64(out[16:], h.tcb)
	return out, nil
}

// parseSNPBlob checks a blob's size and header strictly; every error wraps ErrUnseal.
func parseSNPBlob(blob []byte) (snpHeader, error) {
	if len(blob) != snpBlobLen {
		return snpHeader{}, fmt.Errorf("is %d bytes, an SEV-SNP sealed key is %d: it is truncated, padded or not one: %w", len(blob), snpBlobLen, ErrUnseal)
	}
	if string(blob[:4]) != snpBlobMagic {
		return snpHeader{}, fmt.Errorf("does not start with %q: it is not an SEV-SNP sealed key: %w", snpBlobMagic, ErrUnseal)
	}
	if blob[4] != snpBlobV1 {
		return snpHeader{}, fmt.Errorf("has format version %d, this version reads %d: %w", blob[4], snpBlobV1, ErrUnseal)
	}
	var root SNPRootKey
	switch blob[5] {
	case 0:
		root = SNPRootVCEK
	case 1:
		root = SNPRootVMRK
	default:
		return snpHeader{}, fmt.Errorf("names root key %d, neither VCEK (0) nor VMRK (1): %w", blob[5], ErrUnseal)
	}
	if blob[6] > 3 || blob[7] != 0 {
		return snpHeader{}, fmt.Errorf("has VMPL %d and reserved byte %d, want 0-3 and 0: %w", blob[6], blob[7], ErrUnseal)
	}
	return snpHeader{
		rootKey:     root,
		vmpl:        uint32(blob[6]),
		fieldSelect: binary.BigEndian.Uint64(blob[8:]),
		tcb:         binary.BigEndian.Uint64(blob[16:]),
	}, nil
}

// snpAAD is the associated data of the wrapped key: the label and the header.
func snpAAD(header []byte) []byte {
	return append([]byte(snpBlobLabel), header...)
}

// tcbAtMost reports whether TCB version a is at or below b in every component. Components are
// bytes in every layout AMD has defined (reserved bytes are zero), so comparing byte by byte
// needs no knowledge of the CPU generation.
func tcbAtMost(a, b uint64) bool {
	for i := range 8 {
		if byte(a>>(8*i)) > byte(b>>(8*i)) {
			return false
		}
	}
	return true
}

// rootKeySelect maps a root key to the ABI's ROOT_KEY_SELECT.
func rootKeySelect(r SNPRootKey) (byte, error) {
	switch r {
	case SNPRootVCEK:
		return 0, nil
	case SNPRootVMRK:
		return 1, nil
	}
	return 0, fmt.Errorf("seal: SEV-SNP root key %q is not %q or %q: fix sealer.sevsnp.root_key", r, SNPRootVCEK, SNPRootVMRK)
}

// readSNPBlob reads the blob at path, at most one byte more than a blob, so that an oversized
// file is refused without reading it all. If there is none the error wraps fs.ErrNotExist.
func readSNPBlob(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("seal: SEV-SNP data key blob %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("seal: SEV-SNP data key blob %s is not a regular file (mode %s): %w", path, fi.Mode(), ErrUnseal)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("seal: open SEV-SNP data key blob: %w", err)
	}
	defer f.Close()
	blob, err := io.ReadAll(io.LimitReader(f, snpBlobLen+1))
	if err != nil {
		return nil, fmt.Errorf("seal: read SEV-SNP data key blob %s: %w", path, err)
	}
	return blob, nil
}
