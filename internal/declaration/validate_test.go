package declaration

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"anticovid/internal/errs"
)

// now is the tests' clock: 10:00 in Ho Chi Minh City, 15 August 2021.
var now = time.Date(2021, 8, 15, 3, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// valid returns a complete resident declaration from Bến Lức.
func valid() Input {
	return Input{Kind: KindResident, Name: "Nguyễn Văn An", BirthYear: 1985, Sex: "male", Nationality: "Việt Nam",
		IDNumber: "079085001234", Phone: "0912 345 678", ProvinceCode: "80", DistrictCode: "803", CommuneCode: "27991",
		Street: "123 Hùng Vương, ấp 3", ContactCase: ptr(false), AnimalMarket: ptr(false), VaccineDoses: ptr(1)}
}

func trip(in Input) Input {
	in.Kind = KindTravel
	in.Travel = Travel{Mode: "car", Vehicle: "51b-123.45", Seat: "12", DeparturePlace: "TP. Hồ Chí Minh",
		DepartureDate: "2021-08-14", ArrivalPlace: "Bến Lức, Long An", ArrivalDate: "2021-08-14"}
	return in
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(*Input)
		fields []string // fields with an error; none: valid
	}{
		{"valid resident", func(*Input) {}, nil},
		{"valid travel", func(in *Input) { *in = trip(*in) }, nil},
		{"valid entry, passport", func(in *Input) {
			*in = trip(*in)
			in.Kind, in.IDNumber, in.Nationality, in.Mode, in.Vehicle = KindEntry, "b1234567", "Hàn Quốc", "air", "VN409"
		}, nil},
		{"empty kind is resident", func(in *Input) { in.Kind = "" }, nil},
		{"district and province from commune", func(in *Input) { in.DistrictCode, in.ProvinceCode = "", "" }, nil},
		{"no symptoms listed, answers optional id for resident", func(in *Input) { in.IDNumber = "" }, nil},
		{"everything missing", func(in *Input) { *in = Input{} },
			[]string{"name", "birth_year", "sex", "nationality", "phone", "commune_code", "street", "contact_case", "animal_market", "vaccine_doses"}},
		{"unknown kind", func(in *Input) { in.Kind = "tourist" }, []string{"kind"}},
		{"name too short", func(in *Input) { in.Name = " A " }, []string{"name"}},
		{"name too long", func(in *Input) { in.Name = strings.Repeat("Ă", 101) }, []string{"name"}},
		{"control characters", func(in *Input) { in.Name = "Nguyễn\x00An" }, []string{"name"}},
		{"invalid UTF-8", func(in *Input) { in.Street = "12 \xff\xfe" }, []string{"street"}},
		{"born in the future", func(in *Input) { in.BirthYear = 2022 }, []string{"birth_year"}},
		{"born too long ago", func(in *Input) { in.BirthYear = 1900 }, []string{"birth_year"}},
		{"unknown sex", func(in *Input) { in.Sex = "M" }, []string{"sex"}},
		{"bad ID number", func(in *Input) { in.IDNumber = "12345" }, []string{"id_number"}},
		{"bad phone", func(in *Input) { in.Phone = "12345" }, []string{"phone"}},
		{"phone with letters", func(in *Input) { in.Phone = "09123abc78" }, []string{"phone"}},
		{"unknown commune", func(in *Input) { in.CommuneCode = "99999" }, []string{"commune_code"}},
		{"district is not a commune", func(in *Input) { in.CommuneCode = "803" }, []string{"commune_code"}},
		{"commune outside district", func(in *Input) { in.CommuneCode = "27685" }, []string{"commune_code"}},                      // Tân An
		{"commune outside province", func(in *Input) { in.CommuneCode, in.DistrictCode = "00004", "" }, []string{"commune_code"}}, // Hà Nội
		{"district outside province", func(in *Input) { in.CommuneCode, in.DistrictCode = "", "001" }, []string{"commune_code", "district_code"}},
		{"unknown province", func(in *Input) { in.CommuneCode, in.DistrictCode, in.ProvinceCode = "", "", "999" }, []string{"commune_code", "province_code"}},
		{"street missing", func(in *Input) { in.Street = "  " }, []string{"street"}},
		{"street too long", func(in *Input) { in.Street = strings.Repeat("x", 201) }, []string{"street"}},
		{"places too long", func(in *Input) { in.Places = strings.Repeat("x", 1001) }, []string{"places"}},
		{"unknown symptom", func(in *Input) { in.Symptoms = []string{"fever", "headache"} }, []string{"symptoms"}},
		{"contact unanswered", func(in *Input) { in.ContactCase = nil }, []string{"contact_case"}},
		{"market unanswered", func(in *Input) { in.AnimalMarket = nil }, []string{"animal_market"}},
		{"doses unanswered", func(in *Input) { in.VaccineDoses = nil }, []string{"vaccine_doses"}},
		{"too many doses", func(in *Input) { in.VaccineDoses = ptr(5) }, []string{"vaccine_doses"}},
		{"negative doses", func(in *Input) { in.VaccineDoses = ptr(-1) }, []string{"vaccine_doses"}},
		{"bad client id", func(in *Input) { in.ID = "x" }, []string{"id"}},
		{"travel needs an ID number", func(in *Input) { *in = trip(*in); in.IDNumber = "" }, []string{"id_number"}},
		{"travel fields missing", func(in *Input) { in.Kind = KindTravel },
			[]string{"mode", "vehicle", "departure_place", "departure_date", "arrival_place", "arrival_date"}},
		{"other mode needs no vehicle", func(in *Input) { *in = trip(*in); in.Mode, in.Vehicle = "other", "" }, nil},
		{"unknown mode", func(in *Input) { *in = trip(*in); in.Mode = "rocket" }, []string{"mode"}},
		{"bad date", func(in *Input) { *in = trip(*in); in.DepartureDate = "14/08/2021" }, []string{"departure_date"}},
		{"date far in the past", func(in *Input) { *in = trip(*in); in.DepartureDate = "2021-06-01" }, []string{"departure_date"}},
		{"date far ahead", func(in *Input) { *in = trip(*in); in.ArrivalDate = "2021-10-01" }, []string{"arrival_date"}},
		{"arrival before departure", func(in *Input) { *in = trip(*in); in.DepartureDate, in.ArrivalDate = "2021-08-14", "2021-08-12" }, []string{"arrival_date"}},
		{"seat too long", func(in *Input) { *in = trip(*in); in.Seat = "12345678901" }, []string{"seat"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := valid()
			c.edit(&in)
			err := Validate(&in, now)
			got := slices.Sorted(maps.Keys(errs.FieldsOf(err)))
			want := slices.Sorted(slices.Values(c.fields))
			if !slices.Equal(got, want) {
				t.Fatalf("fields with errors %v, want %v (%v)", got, want, err)
			}
			for k, msg := range errs.FieldsOf(err) {
				// Every message is Vietnamese, then English.
				if vi, en, ok := strings.Cut(msg, " / "); !ok || vi == "" || en == "" {
					t.Errorf("%s: message %q is not \"Vietnamese / English\"", k, msg)
				}
			}
		})
	}
}

func TestValidateNormalises(t *testing.T) {
	in := trip(valid())
	in.Name = "  Nguye\u0302\u0303n   Văn  An " // decomposed ễ, extra spaces
	in.DistrictCode, in.ProvinceCode = "", ""
	in.Symptoms = []string{"rash", "fever", "rash"}
	in.IDNumber = " 079085001234 "
	if err := Validate(&in, now); err != nil {
		t.Fatal(err)
	}
	if in.Name != "Nguyễn Văn An" || in.Phone != "0912345678" || in.IDNumber != "079085001234" {
		t.Errorf("normalised %q %q %q", in.Name, in.Phone, in.IDNumber)
	}
	if in.DistrictCode != "803" || in.ProvinceCode != "80" {
		t.Errorf("derived units %q %q", in.DistrictCode, in.ProvinceCode)
	}
	if !slices.Equal(in.Symptoms, []string{"fever", "rash"}) {
		t.Errorf("symptoms %v, want form order without repeats", in.Symptoms)
	}
	if in.Vehicle != "51B-123.45" {
		t.Errorf("vehicle %q", in.Vehicle)
	}
	if !in.Flagged() {
		t.Error("symptoms must flag the declaration")
	}
	// A resident form carrying leftover travel fields drops them.
	r := valid()
	r.Travel = trip(r).Travel
	if err := Validate(&r, now); err != nil || r.Travel != (Travel{}) {
		t.Errorf("resident kept travel %+v (%v)", r.Travel, err)
	}
	if r.Flagged() {
		t.Error("no symptoms and no contact must not flag")
	}
	r.ContactCase = ptr(true)
	if !r.Flagged() {
		t.Error("a contact with a case must flag")
	}
}
