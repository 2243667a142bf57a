package msg

// Venue texts: checks, categories and the spreadsheet import.
func init() {
	add(map[string]Text{
		"venue.address_at_most_300":                 {"Địa chỉ tối đa 300 ký tự", "Address at most 300 characters"},
		"venue.at_most_rows_file":                   {"Tối đa %d dòng mỗi tệp; hãy chia nhỏ tệp", "At most %d rows a file; split it"},
		"venue.cannot_read_excel_xlsx":              {"Không đọc được tệp Excel (.xlsx)", "Cannot read the Excel (.xlsx) file"},
		"venue.capacity_whole_number":               {"Sức chứa phải là số nguyên", "Capacity must be a whole number"},
		"venue.category_outside_department_sector":  {"Loại địa điểm ngoài lĩnh vực của sở/ngành bạn", "Category outside your department's sector"},
		"venue.column":                              {"Cột", "Column"},
		"venue.column_appears_twice":                {"Cột “%s” xuất hiện hai lần", "Column %q appears twice"},
		"venue.commune_outside_deployment_province": {"Xã/phường không thuộc tỉnh triển khai", "Commune outside this deployment's province"},
		"venue.commune_outside_jurisdiction":        {"Xã/phường ngoài địa bàn bạn phụ trách", "Commune outside your jurisdiction"},
		"venue.coordinates_need_both_lat":           {"Toạ độ cần cả vĩ độ (lat) và kinh độ (lon), dạng số như 10.6345", "Coordinates need both lat and lon, as numbers like 10.6345"},
		"venue.csv_file_utf_8":                      {"Tệp CSV phải dùng mã UTF-8 (trong Excel: “CSV UTF-8”)", "The CSV file must be UTF-8 (Excel: “CSV UTF-8”)"},
		"venue.event_needs_start_before":            {"Sự kiện cần thời gian bắt đầu và kết thúc", "An event needs a start before its end"},
		"venue.file_empty":                          {"Tệp trống", "The file is empty"},
		"venue.header_lacks_required_column":        {"Thiếu cột bắt buộc “%s” ở dòng tiêu đề", "The header lacks the required column %q"},
		"venue.invalid_capacity":                    {"Sức chứa không hợp lệ", "Invalid capacity"},
		"venue.invalid_coordinates":                 {"Toạ độ không hợp lệ", "Invalid coordinates"},
		"venue.invalid_phone_number_10":             {"Số điện thoại không hợp lệ (10 chữ số, bắt đầu bằng 0)", "Invalid phone number (10 digits starting with 0)"},
		"venue.invalid_status":                      {"Trạng thái không hợp lệ", "Invalid status"},
		"venue.name_2_to_200":                       {"Tên địa điểm từ 2 đến 200 ký tự", "Name must be 2 to 200 characters"},
		"venue.no_data_rows_under":                  {"Tệp không có dòng dữ liệu nào dưới dòng tiêu đề", "No data rows under the header"},
		"venue.row_has_data_in":                     {"Dòng %d có dữ liệu ở cột không có tiêu đề", "Row %d has data in a column without a header"},
		"venue.time_as_2021_08":                     {"Thời gian dạng 2021-08-01 18:00 hoặc 01/08/2021 18:00 (giờ Việt Nam)", "Time as 2021-08-01 18:00 or 01/08/2021 18:00 (Vietnam time)"},
		"venue.unknown_category":                    {"Loại địa điểm không hợp lệ", "Unknown category"},
		"venue.unknown_column_valid_columns":        {"Cột không rõ “%s”; các cột hợp lệ: %s", "Unknown column %q; valid columns: %s"},
		"venue.unknown_commune_code":                {"Mã xã/phường không hợp lệ", "Unknown commune code"},
		"venue.unknown_unit_code":                   {"Mã đơn vị không tồn tại", "Unknown unit code"},
		"venue.vehicle_needs_plate_number":          {"Phương tiện cần biển số", "A vehicle needs a plate number"},
		"venue.workbook_has_no_sheet":               {"Tệp Excel không có trang tính nào", "The workbook has no sheet"},
	})
}
