package msg

// Campaign texts: form checks and the message templates.
func init() {
	add(map[string]Text{
		"campaign.channel_sms_or_ott":             {"Kênh gửi phải là sms hoặc ott", "Channel must be sms or ott"},
		"campaign.choose_at_least_one":            {"Chọn ít nhất một nhóm người nhận", "Choose at least one group"},
		"campaign.message_10_to_480":              {"Nội dung tin từ 10 đến 480 ký tự", "Message must be 10 to 480 characters"},
		"campaign.messaging_campaign":             {"Chiến dịch nhắn tin", "messaging campaign"},
		"campaign.name_2_to_120":                  {"Tên chiến dịch từ 2 đến 120 ký tự", "Name must be 2 to 120 characters"},
		"campaign.rate_1_to_messages":             {"Tốc độ gửi từ 1 đến %d tin/phút", "Rate must be 1 to %d messages a minute"},
		"campaign.template.declare":               {"Khai báo y tế", "Health declaration"},
		"campaign.template.declare.body":          {"[{unit}] Đề nghị Quý vị khai báo y tế điện tử trung thực tại {link} để được hỗ trợ kịp thời. Khai báo không trung thực là vi phạm pháp luật.", "[{unit}] Please make a truthful electronic health declaration at {link} so that you can be helped in time. A false declaration breaks the law."},
		"campaign.template.install_bluezone":      {"Cài đặt Bluezone", "Install Bluezone"},
		"campaign.template.install_bluezone.body": {"[{unit}] Để phòng, chống dịch COVID-19, đề nghị Quý vị cài đặt ứng dụng Bluezone và luôn bật Bluetooth khi ra khỏi nhà. Trân trọng cảm ơn!", "[{unit}] To prevent and control COVID-19, please install the Bluezone app and keep Bluetooth on whenever you leave home. Thank you!"},
		"campaign.template.scan_qr":               {"Quét mã QR khi ra vào", "Scan the QR code"},
		"campaign.template.scan_qr.body":          {"[{unit}] Khi đến chợ, siêu thị, bệnh viện, cơ quan..., Quý vị vui lòng quét mã QR tại lối vào và lối ra để hỗ trợ truy vết khi có ca bệnh.", "[{unit}] At markets, supermarkets, hospitals, offices..., please scan the QR code at the entrance and at the exit to help tracing when there is a case."},
		"campaign.template.venue_register":        {"Đăng ký mã QR địa điểm", "Register the venue's QR code"},
		"campaign.template.venue_register.body":   {"[{unit}] Đề nghị cơ sở đăng ký mã QR điểm kiểm soát ra vào tại {link}, in và dán mã tại lối vào, nhắc mọi người quét mã khi vào và ra.", "[{unit}] Please register your venue's entry and exit QR code at {link}, print it and post it at the entrance, and remind everyone to scan it when they come in and go out."},
		"campaign.unknown_recipient_group":        {"Nhóm người nhận không hợp lệ", "Unknown recipient group"},
		"campaign.unknown_template":               {"Mẫu tin không hợp lệ", "Unknown template"},
		"campaign.unknown_unit_code":              {"Mã đơn vị không tồn tại", "Unknown unit code"},
	})
}
