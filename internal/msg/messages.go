package msg

// The outbox: the province admin's page of failed messages, delivery reports.
func init() {
	add(map[string]Text{
		"msgs.title":            {"Tin nhắn gửi lỗi", "Failed messages"},
		"msgs.nav":              {"Tin nhắn", "Messages"},
		"msgs.intro":            {"Tin nhắn SMS, OTT (Zalo) và email không gửi được. Nội dung tin không hiển thị; số điện thoại được che.", "SMS, OTT (Zalo) and email messages that could not be sent. Their text is not shown; phone numbers are masked."},
		"msgs.counts":           {"Tổng số theo trạng thái", "Totals by status"},
		"msgs.status.queued":    {"Chờ gửi", "Queued"},
		"msgs.status.sending":   {"Đang gửi", "Sending"},
		"msgs.status.sent":      {"Đã gửi", "Sent"},
		"msgs.status.delivered": {"Đã đến máy", "Delivered"},
		"msgs.status.failed":    {"Lỗi", "Failed"},
		"msgs.id":               {"Mã", "Id"},
		"msgs.channel":          {"Kênh", "Channel"},
		"msgs.kind":             {"Loại", "Kind"},
		"msgs.to":               {"Người nhận", "Recipient"},
		"msgs.attempts":         {"Số lần thử", "Attempts"},
		"msgs.error":            {"Lý do", "Reason"},
		"msgs.failed_at":        {"Lỗi lúc", "Failed at"},
		"msgs.resend":           {"Gửi lại", "Re-send"},
		"msgs.resend.confirm":   {"Gửi lại tin nhắn này? Nếu lý do là “interrupted”, người nhận có thể đã nhận được.", "Re-send this message? If the reason says “interrupted”, the recipient may already have it."},
		"msgs.resent":           {"Đã xếp tin nhắn vào hàng gửi lại.", "The message is queued again."},
		"msgs.none":             {"Không có tin nhắn lỗi.", "No failed message."},
		"msgs.report.invalid":   {`Cần {"id", "status": "delivered" hoặc "failed"}`, `Want {"id", "status": "delivered" or "failed"}`},
	})
}
