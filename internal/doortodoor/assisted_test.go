package doortodoor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/declaration"
	"anticovid/internal/errs"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
	"anticovid/internal/vault"
)

// resident is a declaration as the volunteer's page fills it in.
func resident(name, phone, commune string) declaration.Input {
	no, doses := false, 2
	return declaration.Input{Kind: declaration.KindResident, Name: name, BirthYear: 1950, Sex: "female", Nationality: "Việt Nam",
		Phone: phone, CommuneCode: commune, Street: "Số 1 ngõ 2", ContactCase: &no, AnimalMarket: &no, VaccineDoses: &doses}
}

// sealed encrypts a declaration to a team's key as the page does.
func sealed(t *testing.T, v Volunteer, id string, household int64, at time.Time, in declaration.Input) SealedDeclaration {
	t.Helper()
	plain, _ := json.Marshal(in)
	d := SealedDeclaration{ID: id, HouseholdID: household, MadeAt: at.Unix()}
	if err := SealDeclaration(v.PublicKey, v.Team.ID, &d, plain); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAssistedDeclarations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		now := time.Date(2021, 8, 10, 2, 0, 0, 0, time.UTC)
		s := newService(t, db, &now)
		s.Declarations = declaration.NewService(db, people.NewService(db, s.Vault), s.Vault, "http://anticovid.test")
		s.Declarations.Now = func() time.Time { return now }
		if _, err := s.AddHouseholds(ctx, officer, "27991", []NewHousehold{{Hamlet: "Ấp 1", Address: "Số 1 ngõ 2"}, {Hamlet: "Ấp 2", Address: "Số 5"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddHouseholds(ctx, other, "27994", []NewHousehold{{Hamlet: "Ấp A", Address: "Số 7"}}); err != nil {
			t.Fatal(err)
		}
		team, _ := s.AddTeam(ctx, officer, "27991", "Hội Phụ nữ", 0)
		teamB, _ := s.AddTeam(ctx, other, "27994", "Đoàn xã B", 0)
		tok, _, err := s.Link(ctx, officer, team.ID)
		if err != nil {
			t.Fatal(err)
		}
		tokB, _, _ := s.Link(ctx, other, teamB.ID)
		v, err := s.Open(ctx, tok)
		if err != nil || len(v.PublicKey) < 80 {
			t.Fatalf("open: %+v %v", v, err)
		}
		vB, _ := s.Open(ctx, tokB)
		// The private key is sealed: neither it nor its base64 is in the row.
		var pub string
		var priv []byte
		db.R.QueryRowContext(ctx, "SELECT key_public, key_private_enc FROM door_teams WHERE id = $1", team.ID).Scan(&pub, &priv)
		if pub != v.PublicKey || len(priv) < 40 || bytes.Contains(priv, []byte(pub[:10])) {
			t.Fatalf("team key row: %q %d", pub, len(priv))
		}
		// A second link keeps the key: queued ciphertexts stay readable.
		if _, _, err := s.Link(ctx, officer, team.ID); err != nil {
			t.Fatal(err)
		}
		if v2, _ := s.Open(ctx, tok); v2.PublicKey != v.PublicKey {
			t.Fatal("a new link changed the team's key")
		}
		hs, _ := s.TeamHouseholds(ctx, v)
		h1, h2 := hs[0].ID, hs[1].ID
		hsB, _ := s.TeamHouseholds(ctx, vB)

		at := now.Add(-time.Hour)
		d1 := sealed(t, v, "dddddddd-0000-0000-0000-000000000001", h1, at, resident("Trần Thị Bảy", "0912345001", "27991"))
		d2 := sealed(t, v, "dddddddd-0000-0000-0000-000000000002", h1, at, resident("Lê Văn Tám", "0912345002", "27991"))
		visit := Visit{ID: "aaaaaaaa-0000-0000-0000-000000000001", HouseholdID: h1, Outcome: Visited, People: 2, Declarations: 1, VisitedAt: at.Unix()}
		count := func(table string) (n int) {
			db.R.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n)
			return n
		}

		// Refusals first: nothing is stored by any of them.
		tampered := d1
		tampered.Data = testenv.Alter(tampered.Data, 10)
		moved := d1 // another house of the team: the ciphertext is bound to its household
		moved.HouseholdID = h2
		otherCommune := sealed(t, v, "dddddddd-0000-0000-0000-000000000003", h1, at, resident("Phạm Văn Chín", "0912345003", "27994"))
		huge := d1
		huge.Data = strings.Repeat("A", MaxSealed+1)
		invalidDecl := resident("X", "12", "27991")
		bad := sealed(t, v, "dddddddd-0000-0000-0000-000000000004", h1, at, invalidDecl)
		forB := sealed(t, vB, "dddddddd-0000-0000-0000-000000000005", hsB[0].ID, at, resident("Võ Thị Mười", "0912345005", "27994"))
		long := sealed(t, v, strings.Repeat("d", 60), h1, at, resident("Đỗ Văn Mười Một", "0912345006", "27991")) // "door-" and 60 would pass 64
		replay := forB                                                                                            // team B's ciphertext sent through team A's link, on team A's house
		replay.HouseholdID = h1
		for name, c := range map[string]struct {
			b    Batch
			want error
			key  string
		}{
			"tampered":           {Batch{Declarations: []SealedDeclaration{d2, tampered}}, errs.ErrInvalid, "declarations[1]"},
			"moved":              {Batch{Declarations: []SealedDeclaration{moved}}, errs.ErrInvalid, "declarations[0]"},
			"another commune":    {Batch{Visits: []Visit{visit}, Declarations: []SealedDeclaration{otherCommune}}, errs.ErrInvalid, "declarations[0].commune_code"},
			"too large":          {Batch{Declarations: []SealedDeclaration{huge}}, errs.ErrInvalid, "declarations[0]"},
			"invalid answers":    {Batch{Declarations: []SealedDeclaration{bad}}, errs.ErrInvalid, "declarations[0].phone"},
			"other team's":       {Batch{Declarations: []SealedDeclaration{replay}}, errs.ErrInvalid, "declarations[0]"},
			"id too long":        {Batch{Declarations: []SealedDeclaration{long}}, errs.ErrInvalid, "declarations[0].id"},
			"other team's house": {Batch{Declarations: []SealedDeclaration{forB}}, errs.ErrForbidden, ""},
		} {
			_, err := s.Sync(ctx, v, c.b)
			if !errors.Is(err, c.want) {
				t.Fatalf("%s: %v", name, err)
			}
			if _, ok := errs.FieldsOf(err)[c.key]; c.key != "" && !ok {
				t.Fatalf("%s: %v, want field %s", name, errs.FieldsOf(err), c.key)
			}
			if strings.Contains(err.Error(), "Trần") || strings.Contains(err.Error(), "0912") {
				t.Fatalf("%s: the error names the person: %v", name, err)
			}
		}
		if n := count("declarations") + count("door_declarations") + count("door_visits") + count("people"); n != 0 {
			t.Fatalf("refused batches stored %d rows", n)
		}
		if _, err := s.Sync(ctx, v, Batch{Declarations: make([]SealedDeclaration, MaxDeclarations+1)}); !errors.Is(err, errs.ErrInvalid) {
			t.Fatalf("too many: %v", err)
		}

		// Two declarations at one house with its visit; sent again: each stored once.
		b := Batch{Visits: []Visit{visit}, Declarations: []SealedDeclaration{d1, d2}}
		for i, want := range []string{"created", "duplicate"} {
			got, err := s.Sync(ctx, v, b)
			if err != nil || got.Visits[0].Status != want || got.Declarations[0].Status != want || got.Declarations[1].Status != want {
				t.Fatalf("sync %d: %+v %v", i, got, err)
			}
		}
		if d, dd := count("declarations"), count("door_declarations"); d != 2 || dd != 2 {
			t.Fatalf("declarations %d, door declarations %d; want 2, 2", d, dd)
		}
		// Team B may not claim team A's ids.
		conflict := sealed(t, vB, d1.ID, hsB[0].ID, at, resident("Võ Thị Mười", "0912345005", "27994"))
		if got, err := s.Sync(ctx, vB, Batch{Declarations: []SealedDeclaration{conflict}}); err != nil || got.Declarations[0].Status != "conflict" {
			t.Fatalf("another team's id: %+v %v", got, err)
		}

		// Coverage: the visit's own count (1, on the resident's phone) plus
		// the two stored; the hamlet of the house has them.
		c, err := s.Coverage(ctx, officer, "27991")
		if err != nil || c.Total.Declarations != 3 || c.Total.Assisted != 2 {
			t.Fatalf("coverage: %+v %v", c.Total, err)
		}
		if wk, _ := s.Week(ctx, "803", now.Add(-24*time.Hour), now); wk.Declarations != 3 || wk.Assisted != 2 {
			t.Fatalf("week: %+v", wk)
		}

		// The cards: listed for the commune and the district, not the other commune.
		if _, err := s.Cards(ctx, other, "27991", CardFilter{}); !errors.Is(err, errs.ErrForbidden) {
			t.Fatalf("other commune's cards: %v", err)
		}
		ctxA := auth.WithPrincipal(ctx, officer)
		cards, err := s.Cards(ctxA, officer, "27991", CardFilter{Hamlet: hs[0].HamletID, Team: team.ID})
		if err != nil || len(cards) != 2 || cards[0].Name != "Trần Thị Bảy" || cards[0].Hamlet != "Ấp 1" {
			t.Fatalf("cards: %+v %v", cards, err)
		}
		for _, cd := range cards {
			claims, err := s.Declarations.Verify(cd.Token)
			if err != nil || claims.DeclarationID != cd.DeclarationID || claims.Proof != declaration.Unproven || cd.URL != "http://anticovid.test/p/"+cd.Token {
				t.Fatalf("card token: %+v %v", claims, err)
			}
		}
		var audits int
		db.R.QueryRowContext(ctx, "SELECT count(*) FROM audit_log WHERE username = 'xa1' AND subject = 'declaration' AND purpose = 'door-to-door cards'").Scan(&audits)
		if audits != 1 {
			t.Fatalf("audit entries: %d", audits)
		}
		if dc, err := s.Cards(ctx, district, "803", CardFilter{}); err != nil || len(dc) != 2 {
			t.Fatalf("district cards: %d %v", len(dc), err)
		}
		if err := s.PrintCards(ctx, other, []string{cards[0].ID}, func([]Card) error { return nil }); !errors.Is(err, errs.ErrForbidden) {
			t.Fatalf("other commune prints: %v", err)
		}
		var printed []Card
		err = s.PrintCards(ctxA, officer, []string{cards[0].ID, cards[1].ID}, func(c []Card) error { printed = c; return nil })
		if err != nil || len(printed) != 2 {
			t.Fatalf("print: %+v %v", printed, err)
		}
		if left, _ := s.Cards(ctxA, officer, "27991", CardFilter{}); len(left) != 0 {
			t.Fatalf("printed cards still listed: %d", len(left))
		}

		// The link expires. Within SyncGrace, what was made before the
		// expiry is taken, what was made after is not; after the grace,
		// nothing opens.
		expAt := v.Expires
		now = expAt.Add(10 * time.Hour)
		if _, err := s.Open(ctx, tok); !errors.Is(err, ErrLinkExpired) {
			t.Fatalf("open expired: %v", err)
		}
		late, err := s.OpenSync(ctx, tok)
		if err != nil || !late.Expired {
			t.Fatalf("open sync in grace: %+v %v", late, err)
		}
		before := expAt.Add(-time.Hour)
		after := expAt.Add(time.Hour)
		got, err := s.Sync(ctx, late, Batch{
			Visits: []Visit{{ID: "aaaaaaaa-0000-0000-0000-000000000002", HouseholdID: h2, Outcome: Visited, VisitedAt: before.Unix()},
				{ID: "aaaaaaaa-0000-0000-0000-000000000003", HouseholdID: h2, Outcome: Visited, VisitedAt: after.Unix()}},
			Declarations: []SealedDeclaration{sealed(t, v, "dddddddd-0000-0000-0000-000000000006", h2, before, resident("Đỗ Văn Một", "0912345006", "27991")),
				sealed(t, v, "dddddddd-0000-0000-0000-000000000007", h2, after, resident("Đỗ Văn Hai", "0912345007", "27991"))}})
		if err != nil || got.Visits[0].Status != "created" || got.Visits[1].Status != "expired" ||
			got.Declarations[0].Status != "created" || got.Declarations[1].Status != "expired" {
			t.Fatalf("sync in grace: %+v %v", got, err)
		}
		if d := count("door_declarations"); d != 3 {
			t.Fatalf("door declarations after grace sync: %d", d)
		}
		now = expAt.Add(SyncGrace)
		if _, err := s.OpenSync(ctx, tok); !errors.Is(err, ErrLinkExpired) {
			t.Fatalf("after the grace: %v", err)
		}

		// Data-key rotation re-seals the teams' private keys: after it, a
		// server with only the new key opens them.
		newKey := bytes.Repeat([]byte{8}, 32)
		rot, _ := vault.New(newKey, bytes.Repeat([]byte{7}, 32))
		if _, n, err := s.Reseal(ctx, rot, 0, 100); err != nil || n != 2 {
			t.Fatalf("reseal: %d %v", n, err)
		}
		only, _ := vault.New(newKey)
		s2 := &Service{DB: db, Vault: only}
		if _, err := s2.privateKey(ctx, team.ID); err != nil {
			t.Fatalf("key after rotation: %v", err)
		}
	})
}

// The cards page after a busy fortnight: more than MaxCards expired cards
// never printed, then two new ones. The list shows the two (the expired
// are filtered in the query, not after its LIMIT). A print whose file
// fails to render marks nothing printed; a print that succeeds moves the
// cards to the printed list, audited as an export, where they can be
// printed again (audited as a reprint) until they expire.
func TestAssistedCardsExpiryAndReprint(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := auth.WithPrincipal(context.Background(), officer)
		now := time.Date(2021, 8, 10, 2, 0, 0, 0, time.UTC)
		s := newService(t, db, &now)
		s.Declarations = declaration.NewService(db, people.NewService(db, s.Vault), s.Vault, "http://anticovid.test")
		s.Declarations.Now = func() time.Time { return now }
		s.Declarations.TTL = time.Hour // the QR lifetime, short so the test can outlive it
		if _, err := s.AddHouseholds(ctx, officer, "27991", []NewHousehold{{Hamlet: "Ấp 1", Address: "Số 1"}}); err != nil {
			t.Fatal(err)
		}
		team, _ := s.AddTeam(ctx, officer, "27991", "Hội Phụ nữ", 0)
		tok, _, err := s.Link(ctx, officer, team.ID)
		if err != nil {
			t.Fatal(err)
		}
		v, err := s.Open(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		hs, _ := s.TeamHouseholds(ctx, v)
		n := 0
		send := func(count int) {
			t.Helper()
			for count > 0 {
				var b Batch
				for ; count > 0 && len(b.Declarations) < MaxDeclarations; count-- {
					n++
					id := fmt.Sprintf("cccccccc-0000-0000-0000-%012d", n)
					b.Declarations = append(b.Declarations, sealed(t, v, id, hs[0].ID, now.Add(-time.Minute),
						resident(fmt.Sprintf("Người Thứ %d", n), fmt.Sprintf("09130%05d", n), "27991")))
				}
				if _, err := s.Sync(ctx, v, b); err != nil {
					t.Fatal(err)
				}
			}
		}
		send(MaxCards + 1)
		now = now.Add(2 * time.Hour) // every card so far has expired, none printed
		send(2)
		list, err := s.Cards(ctx, officer, "27991", CardFilter{})
		if err != nil || len(list) != 2 || list[0].Name != fmt.Sprintf("Người Thứ %d", MaxCards+2) {
			t.Fatalf("valid cards behind %d expired: %d %v", MaxCards+1, len(list), err)
		}
		ids := []string{list[0].ID, list[1].ID}
		exports := func(purpose string) (k int) {
			db.R.QueryRowContext(ctx, "SELECT count(*) FROM audit_log WHERE username = 'xa1' AND action = $1 AND purpose = $2", auth.ActionExport, purpose).Scan(&k)
			return k
		}

		// The PDF fails: nothing is marked printed, nothing exported.
		if err := s.PrintCards(ctx, officer, ids, func([]Card) error { return errors.New("disk full") }); err == nil {
			t.Fatal("a failed render was not reported")
		}
		if l, _ := s.Cards(ctx, officer, "27991", CardFilter{}); len(l) != 2 {
			t.Fatalf("after a failed print, cards waiting: %d, want 2", len(l))
		}
		if k := exports("door-to-door cards print"); k != 0 {
			t.Fatalf("failed print audited as an export: %d", k)
		}

		// Printed: out of the new list, in the printed one.
		var got []Card
		if err := s.PrintCards(ctx, officer, ids, func(c []Card) error { got = c; return nil }); err != nil || len(got) != 2 {
			t.Fatalf("print: %d %v", len(got), err)
		}
		if k := exports("door-to-door cards print"); k != 1 {
			t.Fatalf("print export audits: %d", k)
		}
		if l, _ := s.Cards(ctx, officer, "27991", CardFilter{}); len(l) != 0 {
			t.Fatalf("printed cards still waiting: %d", len(l))
		}
		printed, err := s.Cards(ctx, officer, "27991", CardFilter{Printed: true})
		if err != nil || len(printed) != 2 || !printed[0].Printed {
			t.Fatalf("printed list: %+v %v", printed, err)
		}
		var at1 int64
		db.R.QueryRowContext(ctx, "SELECT printed_at FROM door_declarations WHERE id = $1", ids[0]).Scan(&at1)

		// Printed again (the download was lost): same cards, a reprint in the audit.
		now = now.Add(time.Minute)
		got = nil
		if err := s.PrintCards(ctx, officer, []string{printed[0].ID, printed[1].ID}, func(c []Card) error { got = c; return nil }); err != nil || len(got) != 2 || got[0].Token == "" {
			t.Fatalf("reprint: %d %v", len(got), err)
		}
		if k := exports("door-to-door cards reprint"); k != 1 {
			t.Fatalf("reprint export audits: %d", k)
		}
		var at2 int64
		db.R.QueryRowContext(ctx, "SELECT printed_at FROM door_declarations WHERE id = $1", ids[0]).Scan(&at2)
		if at2 != at1 {
			t.Fatalf("a reprint moved printed_at from %d to %d", at1, at2)
		}

		// Expired, printed cards leave the printed list too; printing them is refused.
		now = now.Add(2 * time.Hour)
		if l, err := s.Cards(ctx, officer, "27991", CardFilter{Printed: true}); err != nil || len(l) != 0 {
			t.Fatalf("expired printed cards listed: %d %v", len(l), err)
		}
		if err := s.PrintCards(ctx, officer, ids, func([]Card) error { return nil }); !errors.Is(err, errs.ErrInvalid) {
			t.Fatalf("printing expired cards: %v", err)
		}
	})
}
