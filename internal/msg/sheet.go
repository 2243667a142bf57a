package msg

// Spreadsheet texts: why an uploaded CSV or XLSX file is refused.
func init() {
	add(map[string]Text{
		"sheet.too_large":     {"Tệp quá lớn: tối đa %d MB", "The file is too large: at most %d MB"},
		"sheet.zip_bomb":      {"Tệp Excel bung ra quá lớn (có thể là tệp nén độc hại): tối đa %d MB sau khi giải nén", "The Excel file unpacks too large (possibly a malicious archive): at most %d MB unpacked"},
		"sheet.cannot_read":   {"Không đọc được tệp Excel (.xlsx); hãy lưu lại bằng Excel hoặc xuất ra CSV UTF-8", "Cannot read the Excel (.xlsx) file; save it again with Excel or export it as CSV UTF-8"},
		"sheet.no_sheet":      {"Tệp Excel không có trang tính nào", "The workbook has no sheet"},
		"sheet.not_utf8":      {"Tệp CSV không phải mã UTF-8 (có thể là Windows-1258, TCVN3 hoặc Latin-1), tiếng Việt sẽ bị lỗi: trong Excel chọn Lưu thành → «CSV UTF-8 (Comma delimited)» rồi tải lên lại", "The CSV file is not UTF-8 (perhaps Windows-1258, TCVN3 or Latin-1), so Vietnamese would be garbled: in Excel choose Save As → \"CSV UTF-8 (Comma delimited)\" and upload it again"},
		"sheet.csv_syntax":    {"Tệp CSV sai cú pháp ở dòng %d", "CSV syntax error on line %d"},
		"sheet.too_many_rows": {"Tối đa %d dòng mỗi tệp; hãy chia nhỏ tệp", "At most %d rows a file; split it"},
		"sheet.too_many_cols": {"Tối đa %d cột mỗi dòng", "At most %d columns a row"},
		"sheet.too_slow":      {"Đọc tệp quá lâu (hơn %d giây); hãy chia nhỏ tệp", "Reading the file took too long (over %d seconds); split it"},
	})
}
