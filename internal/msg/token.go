package msg

// Signed-token texts.
func init() {
	add(map[string]Text{
		"token.invalid_qr_code_or":    {"Mã QR không hợp lệ hoặc không do hệ thống này cấp", "Invalid QR code, or not issued by this system"},
		"token.qr_code_was_withdrawn": {"Mã QR này đã bị thu hồi, hãy quét mã mới tại địa điểm", "This QR code was withdrawn; scan the venue's new code"},
	})
}
