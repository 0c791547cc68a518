package stellar

import (
	"encoding/base32"
	"encoding/binary"
)

// accountIDVersion is StrKey's version byte for an ed25519 account id (6 << 3), which makes
// the text start with G.
const accountIDVersion = 6 << 3

// strKey encodes an ed25519 public key as a StrKey account id (SEP-23): base32 (RFC 4648, no
// padding) of version byte || key || CRC16-XModem of both, little-endian.
func strKey(pub []byte) string {
	data := append([]byte{accountIDVersion}, pub...)
	data = binary.LittleEndian.AppendUint16(data, crc16XModem(data))
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(data)
}

// crc16XModem is CRC-16 with polynomial 0x1021, initial value 0, no reflection.
func crc16XModem(data []byte) uint16 {
	var crc uint16
	for _, b := range data {
		crc ^= uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
