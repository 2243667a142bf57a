package msg

// Venue poster texts: the printed PDF and QR code checks.
func init() {
	add(map[string]Text{
		"poster.missing_qr_content": {"Thiếu địa chỉ cho mã QR", "Missing QR content"},
		"poster.no_venue_selected":  {"Chưa chọn địa điểm nào", "No venue selected"},
		"poster.too_long_qr_code":   {"Nội dung quá dài cho một mã QR", "Too long for a QR code"},
	})
}
