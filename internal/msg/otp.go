package msg

// One-time codes (internal/otp): refusals, and the SMS that carry codes.
func init() {
	add(map[string]Text{
		"otp.phone":       {"Số điện thoại không hợp lệ (10 chữ số, bắt đầu bằng 0)", "Invalid phone number (10 digits starting with 0)"},
		"otp.phone_check": {"Số điện thoại không hợp lệ", "Invalid phone number"},
		// Answers on pages, telling the person what to do next.
		"otp.digits":     {"Mã xác nhận gồm %d chữ số", "The code has %d digits"},
		"otp.no_code":    {"Chưa có mã nào được gửi tới số này; hãy bấm “Gửi mã”", "No code was sent to this number; ask for one"},
		"otp.wrong_left": {"Mã xác nhận không đúng; còn %d lần thử", "Wrong code; %d attempts left"},
		"otp.too_many":   {"Nhập sai quá nhiều lần; hãy yêu cầu mã mới", "Too many wrong attempts; ask for a new code"},
		"otp.used_ask":   {"Mã này đã được dùng; hãy yêu cầu mã mới", "This code was already used; ask for a new one"},
		// An expired venue code reads: Vietnamese of expired_after (with the
		// lifetime), English of expired_ask.
		"otp.expired_after": {"Mã đã hết hạn (sau %d phút); hãy yêu cầu mã mới", "The code expired after %d minutes; ask for a new one"},
		"otp.expired_ask":   {"Mã đã hết hạn; hãy yêu cầu mã mới", "The code expired; ask for a new one"},
		// Answers of the phone apps' API, naming the cause only.
		"otp.required":        {"Cần mã xác nhận", "a code is required"},
		"otp.wrong":           {"Mã không đúng", "wrong code"},
		"otp.used":            {"Mã đã được sử dụng", "code already used"},
		"otp.expired":         {"Mã đã hết hạn", "code expired"},
		"otp.used_or_expired": {"Mã đã được sử dụng hoặc hết hạn", "code already used or expired"},
		// Codes a health tracer issues for an F0.
		"otp.tracer_purpose": {"Mục đích phải là bz_log, bz_feed hoặc en", "purpose must be bz_log, bz_feed or en"},
		"otp.onset":          {"Ngày khởi phát phải trong 30 ngày qua", "onset must be within the last 30 days"},
		// SMS texts. The venue SMS is Vietnamese only; the Bluezone one
		// carries its full text without diacritics and a short English one.
		"otp.sms.proof":           {"Mã xác minh số điện thoại anticovid: %s. Mã có hiệu lực %d phút. Không cung cấp mã này cho bất kỳ ai.", "Your anticovid phone check code: %s. It is valid for %d minutes. Do not give this code to anyone."},
		"otp.sms.venue":           {"Mã xác nhận anticovid của bạn: %s. Mã có hiệu lực %d phút. Không cung cấp mã này cho bất kỳ ai.", "Your anticovid confirmation code: %s. It is valid for %d minutes. Do not give this code to anyone."},
		"otp.sms.bluezone":        {"Ma xac nhan Bluezone (%s): %s, hieu luc %d phut. Khong chia se ma nay.", "Bluezone confirmation code (%s): %s, valid for %d minutes. Do not share this code."},
		"otp.sms.bluezone_short":  {"Mã Bluezone của bạn: %s (%d phút).", "Your Bluezone code: %s (%d minutes)."},
		"otp.bluezone.register":   {"đăng ký", "registration"},
		"otp.bluezone.unregister": {"xoá đăng ký", "deletion"},
	})
}
