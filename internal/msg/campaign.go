package msg

// Campaign texts: form checks and the message templates.
func init() {
	add(map[string]Text{
		"campaign.channel_sms_or_ott":      {"Kênh gửi phải là sms hoặc ott", "Channel must be sms or ott"},
		"campaign.choose_at_least_one":     {"Chọn ít nhất một nhóm người nhận", "Choose at least one group"},
		"campaign.message_10_to_480":       {"Nội dung tin từ 10 đến 480 ký tự", "Message must be 10 to 480 characters"},
		"campaign.messaging_campaign":      {"Chiến dịch nhắn tin", "messaging campaign"},
		"campaign.name_2_to_120":           {"Tên chiến dịch từ 2 đến 120 ký tự", "Name must be 2 to 120 characters"},
		"campaign.rate_1_to_messages":      {"Tốc độ gửi từ 1 đến %d tin/phút", "Rate must be 1 to %d messages a minute"},
		"campaign.unknown_recipient_group": {"Nhóm người nhận không hợp lệ", "Unknown recipient group"},
		"campaign.unknown_template":        {"Mẫu tin không hợp lệ", "Unknown template"},
		"campaign.unknown_unit_code":       {"Mã đơn vị không tồn tại", "Unknown unit code"},
	})
}
