package msg

// Exposure Notification key-server texts.
func init() {
	add(map[string]Text{
		"exposure.at_least_one_key":                  {"Cần ít nhất một khoá", "at least one key is required"},
		"exposure.at_most_keys_per":                  {"Tối đa %d khoá mỗi lần gửi, nhận được %d", "at most %d keys per upload, got %d"},
		"exposure.duplicate_keys":                    {"Khoá trùng với keys[%d]", "duplicate of keys[%d]"},
		"exposure.expired_intervals":                 {"kết thúc ở khoảng %d, cũ nhất được nhận %d", "ended at interval %d, oldest accepted %d"},
		"exposure.in_0_got":                          {"Phải trong khoảng 0..%d, nhận được %d", "must be in 0..%d, got %d"},
		"exposure.in_1_got":                          {"Phải trong khoảng 1..%d, nhận được %d", "must be in 1..%d, got %d"},
		"exposure.key_exactly_bytes_got":             {"Khoá phải dài đúng %d byte, nhận được %d", "key must be exactly %d bytes, got %d"},
		"exposure.key_expired":                       {"Khoá đã hết hạn hơn 14 ngày (hết hạn lúc %s)", "key expired more than 14 days ago (%s)"},
		"exposure.key_in_future":                     {"Khoá bắt đầu trong tương lai (%[1]s, bây giờ là %[2]s)", "key starts in the future (interval %[3]d, now %[4]d)"},
		"exposure.key_was_already_uploaded":          {"Khoá đã được gửi trước đó", "key was already uploaded"},
		"exposure.verification_certificate_required": {"Cần chứng nhận xác minh", "a verification certificate is required"},
	})
}
