package web

import (
	"net/http"

	"anticovid/internal/adoption"
	"anticovid/internal/auth"
	"anticovid/internal/bluezone"
	"anticovid/internal/camera"
	"anticovid/internal/campaign"
	"anticovid/internal/cases"
	"anticovid/internal/checkin"
	"anticovid/internal/dashboard"
	"anticovid/internal/declaration"
	"anticovid/internal/doortodoor"
	"anticovid/internal/exposure"
	"anticovid/internal/geo"
	"anticovid/internal/meeting"
	"anticovid/internal/notify"
	"anticovid/internal/press"
	"anticovid/internal/reports"
	"anticovid/internal/tracing"
	"anticovid/internal/venue"
)

// Who may call, as x-role says it. The services check the role and the
// caller's jurisdiction; these words tell an integrator which account to use.
const (
	roleAny        = "any signed-in role, within its jurisdiction"
	roleOfficers   = "province_admin, department_officer, district_officer, commune_officer"
	roleTracers    = "province_admin, department_officer (health), district_officer, commune_officer, health_tracer"
	roleAdmin      = "province_admin"
	roleHealthAdm  = "province_admin, department_officer (health)"
	roleICT        = "province_admin, department_officer (ict)"
	roleVenueStaff = "venue_manager of the venue, or an officer over its commune"
	roleOrganiser  = "province_admin; district_officer for its communes"
	roleOfficials  = "every role but venue_manager, each reading its own notices"
	roleDoor       = "province_admin, district_officer, commune_officer"
)

func ok(v any) map[int]any      { return map[int]any{http.StatusOK: v} }
func created(v any) map[int]any { return map[int]any{http.StatusCreated: v} }

// noContent is the answer of operations that answer 204 and nothing else.
var noContent = map[int]any{http.StatusNoContent: nil}

// idempotent answers 201 for a new record and 200 for an id seen before.
func idempotent(v any) map[int]any { return map[int]any{http.StatusOK: v, http.StatusCreated: v} }

// Uploads that take a file as the body or as the multipart part "file".
var (
	venueImportBody = either{form{"file"}, mediaCSV}
	caseImportBody  = either{form{"file"}, mediaCSV, mediaXLSX}
)

// pressFiles are the media types the materials library accepts (press's
// sniffed allow-list), as a download answers them.
var pressFiles = files{mediaPDF, mediaPNG, "image/jpeg", "audio/mpeg", "audio/mp4", "video/mp4",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "text/plain"}

// apiOps is the route table of the API: every operation under /api/v1, keyed
// by "METHOD pattern" exactly as its feature file registers it with s.api.
var apiOps = map[string]apiOp{
	// Administrative units and the caller.
	"GET /api/v1/me":                    {ID: "getMe", Tag: "account", Role: roleAny, Resp: ok(auth.Principal{})},
	"GET /api/v1/tasks":                 {ID: "listTasks", Tag: "account", Role: roleAny, Resp: ok(tasksAnswer{})},
	"GET /api/v1/inbox":                 {ID: "listInbox", Tag: "account", Role: roleOfficials, Query: []param{q("before", "integer"), q("limit", "integer")}, Resp: ok(inboxAnswer{})},
	"POST /api/v1/inbox/read":           {ID: "markInboxRead", Tag: "account", Role: roleOfficials, Body: inboxReadInput{}, Resp: ok(inboxReadAnswer{})},
	"GET /api/v1/units/{code}":          {ID: "getUnit", Tag: "units", Role: rolePublic, Resp: ok(geo.Unit{})},
	"GET /api/v1/units/{code}/children": {ID: "listUnitChildren", Tag: "units", Role: rolePublic, Resp: ok(unitChildrenAnswer{})},
	"GET /api/v1/audit": {ID: "listAuditEntries", Tag: "account", Role: roleAdmin, Query: []param{q("user", "string"), q("action", "string"),
		q("who", "string"), q("from", "string"), q("to", "string"), q("before", "integer"), q("limit", "integer")}, Resp: ok(auditAnswer{})},

	// Venues, their QR codes and posters.
	"GET /api/v1/venue-categories":     {ID: "listVenueCategories", Tag: "venues", Role: rolePublic, Resp: ok([]venue.Category{})},
	"GET /api/v1/venues":               {ID: "listVenues", Tag: "venues", Role: roleAny, Query: append([]param{q("commune", "string"), q("category", "string"), q("status", "string"), q("q", "string"), q("from", "string"), q("to", "string"), q("sort", "string")}, paging...), Resp: ok(venuesAnswer{})},
	"POST /api/v1/venues":              {ID: "createVenue", Tag: "venues", Role: roleAny, Body: venueInput{}, Resp: created(venue.Venue{}), Errs: []int{http.StatusConflict}},
	"GET /api/v1/venues/{id}":          {ID: "getVenue", Tag: "venues", Role: roleAny, Resp: ok(venue.Venue{})},
	"POST /api/v1/venues/{id}/status":  {ID: "setVenueStatus", Tag: "venues", Role: roleOfficers, Body: venueStatusInput{}, Resp: ok(venue.Venue{}), Errs: []int{http.StatusConflict}},
	"POST /api/v1/venues/{id}/reissue": {ID: "reissueVenueQR", Tag: "venues", Role: roleVenueStaff, Resp: ok(venue.Venue{})},
	"POST /api/v1/venues/import": {ID: "importVenues", Tag: "venues", Role: roleOfficers, Body: venueImportBody,
		Resp: map[int]any{http.StatusCreated: createdAnswer{}, http.StatusBadRequest: venueImportErrors{}}},
	"GET /api/v1/venues/{id}/qr.png":       {ID: "getVenueQRPNG", Tag: "venues", Role: roleVenueStaff, Query: []param{q("size", "integer")}, Resp: ok(mediaPNG)},
	"GET /api/v1/venues/{id}/qr.svg":       {ID: "getVenueQRSVG", Tag: "venues", Role: roleVenueStaff, Resp: ok(mediaSVG)},
	"GET /api/v1/venues/{id}/poster.pdf":   {ID: "getVenuePoster", Tag: "venues", Role: roleVenueStaff, Resp: ok(mediaPDF)},
	"GET /api/v1/units/{code}/posters.pdf": {ID: "getCommunePosters", Tag: "venues", Role: roleOfficers, Query: []param{q("category", "string"), q("offset", "integer")}, Resp: ok(mediaPDF)},
	"GET /api/v1/activity":                 {ID: "listVenueActivity", Tag: "venues", Role: roleOfficers, Query: []param{q("unit", "string")}, Resp: ok(activityAnswer{})},
	"GET /api/v1/venues/{id}/today":        {ID: "getVenueToday", Tag: "venues", Role: roleVenueStaff, Resp: ok(checkin.VenueDay{})},

	// Check-ins.
	"POST /api/v1/checkins":                   {ID: "checkIn", Tag: "checkins", Role: rolePublic, Body: checkin.Request{}, Resp: idempotent(checkin.Result{}), Errs: []int{http.StatusConflict, http.StatusTooManyRequests}},
	"POST /api/v1/venues/{id}/scans":          {ID: "recordStaffScan", Tag: "checkins", Role: roleVenueStaff, Body: staffScan{}, Resp: idempotent(staffResult{}), Errs: []int{http.StatusConflict}},
	"GET /api/v1/checkins/held":               {ID: "listHeldCheckins", Tag: "checkins", Role: roleTracers, Query: append([]param{q("status", "string"), q("unit", "string")}, paging...), Resp: ok(heldAnswer{})},
	"POST /api/v1/checkins/held/{id}/release": {ID: "releaseHeldCheckin", Tag: "checkins", Role: roleTracers, Resp: ok(decisionAnswer{}), Errs: []int{http.StatusConflict}},
	"POST /api/v1/checkins/held/{id}/reject":  {ID: "rejectHeldCheckin", Tag: "checkins", Role: roleTracers, Resp: ok(decisionAnswer{}), Errs: []int{http.StatusConflict}},
	"POST /api/v1/proof/code":                 {ID: "sendPhoneProofCode", Tag: "checkins", Role: rolePublic, Body: proofRequest{}, Resp: ok(proofCodeAnswer{}), Errs: []int{http.StatusTooManyRequests}},
	"POST /api/v1/proof":                      {ID: "provePhone", Tag: "checkins", Role: rolePublic, Body: proofRequest{}, Resp: ok(provenAnswer{}), Errs: []int{http.StatusTooManyRequests}},

	// Health declarations.
	"GET /api/v1/declaration-options":        {ID: "getDeclarationOptions", Tag: "declarations", Role: rolePublic, Resp: ok(declOptionsAnswer{})},
	"POST /api/v1/declarations":              {ID: "declareHealth", Tag: "declarations", Role: rolePublic, Body: declaration.Input{}, Resp: idempotent(declaration.Result{}), Errs: []int{http.StatusConflict, http.StatusTooManyRequests}},
	"GET /api/v1/declarations/worklist":      {ID: "listFlaggedDeclarations", Tag: "declarations", Role: roleTracers, Query: append([]param{q("q", "string"), q("status", "string"), q("unit", "string"), q("from", "string"), q("to", "string")}, paging...), Resp: ok(declWorklistAnswer{})},
	"POST /api/v1/declarations/{id}/handled": {ID: "markDeclarationHandled", Tag: "declarations", Role: roleTracers, Body: noteInput{}, Resp: ok(handledAnswer{}), Errs: []int{http.StatusConflict}},

	// Cases.
	"POST /api/v1/cases":                    {ID: "createCase", Tag: "cases", Role: roleTracers, Body: caseInput{}, Resp: created(cases.Case{}), Errs: []int{http.StatusConflict}},
	"GET /api/v1/cases":                     {ID: "listCases", Tag: "cases", Role: roleTracers, Query: append([]param{q("q", "string"), q("commune", "string"), q("status", "string"), q("from", "string"), q("to", "string"), q("sort", "string")}, paging...), Resp: ok(cases.Listed{})},
	"GET /api/v1/cases/{id}":                {ID: "getCase", Tag: "cases", Role: roleTracers, Resp: ok(caseDetail{})},
	"POST /api/v1/cases/{id}/confirm":       {ID: "confirmCase", Tag: "cases", Role: roleTracers, Resp: ok(cases.Case{})},
	"GET /api/v1/handoffs":                  {ID: "listHandoffs", Tag: "tracing", Role: roleAdmin, Query: []param{q("direction", "string")}, Resp: ok(handoffsAnswer{})},
	"POST /api/v1/handoffs":                 {ID: "handOffContacts", Tag: "tracing", Role: roleAdmin, Body: handOffInput{}, Resp: ok(handedAnswer{})},
	"POST /api/v1/handoffs/export":          {ID: "exportHandoff", Tag: "tracing", Role: roleAdmin, Body: handoffExportInput{}, Resp: ok(files{mediaXLSX, mediaPDF, mediaCSV})},
	"POST /api/v1/handoffs/{id}/receive":    {ID: "receiveHandoff", Tag: "tracing", Role: roleAdmin, Resp: noContent},
	"POST /api/v1/cases/{id}/isolation":     {ID: "setCaseIsolation", Tag: "cases", Role: roleTracers, Body: caseIsolationInput{}, Resp: ok(cases.Case{})},
	"POST /api/v1/cases/{id}/status":        {ID: "setCaseStatus", Tag: "cases", Role: roleTracers, Body: caseStatusInput{}, Resp: ok(cases.Case{}), Errs: []int{http.StatusConflict}},
	"GET /api/v1/cases/{id}/chain":          {ID: "getCaseChain", Tag: "cases", Role: roleTracers, Resp: ok(cases.Chain{})},
	"POST /api/v1/case-imports":             {ID: "previewCaseImport", Tag: "cases", Role: roleTracers, Query: []param{q("filename", "string")}, Body: caseImportBody, Resp: ok(cases.Import{})},
	"POST /api/v1/case-imports/{id}/commit": {ID: "commitCaseImport", Tag: "cases", Role: roleTracers, Body: importDecisionsInput{}, OptionalBody: true, Resp: ok(cases.Import{}), Errs: []int{http.StatusConflict}},

	// Contact tracing.
	"GET /api/v1/cases/{id}/contacts":                {ID: "listCaseContacts", Tag: "tracing", Role: roleTracers, Query: append([]param{q("evidence", "string")}, paging...), Resp: ok(caseContactsAnswer{})},
	"POST /api/v1/cases/{id}/contacts/export":        {ID: "exportCaseContacts", Tag: "tracing", Role: roleTracers, Body: exportRequest{}, Resp: ok(files{mediaXLSX, mediaPDF, mediaCSV})},
	"GET /api/v1/cases/{id}/exposure-venues":         {ID: "listCaseExposureVenues", Tag: "tracing", Role: roleTracers, Resp: ok(exposureVenuesAnswer{})},
	"POST /api/v1/cases/{id}/exposure-venues/notify": {ID: "notifyExposureVenueVisitors", Tag: "tracing", Role: roleTracers, Resp: ok(queuedAnswer{})},
	"POST /api/v1/cases/{id}/f2":                     {ID: "startF2Expansion", Tag: "tracing", Role: roleTracers, Body: boundsInput{}, OptionalBody: true, Resp: map[int]any{http.StatusAccepted: tracing.Job{}}, Errs: []int{http.StatusConflict}},
	"GET /api/v1/cases/{id}/f2":                      {ID: "getF2Expansion", Tag: "tracing", Role: roleTracers, Resp: ok(tracing.Job{})},
	"GET /api/v1/exposure-venues":                    {ID: "listPublicExposureVenues", Tag: "tracing", Role: rolePublic, Query: []param{q("days", "integer")}, Resp: ok(publicExposuresAnswer{})},
	"GET /api/v1/worklist":                           {ID: "listWorklist", Tag: "tracing", Role: roleTracers, Query: append([]param{q("q", "string"), q("commune", "string"), q("state", "string"), q("case", "integer")}, paging...), Resp: ok(worklistAnswer{})},
	"POST /api/v1/worklist/export":                   {ID: "exportWorklist", Tag: "tracing", Role: roleTracers, Body: exportRequest{}, Resp: ok(files{mediaXLSX, mediaPDF, mediaCSV})},
	"POST /api/v1/contacts/{id}/calls":               {ID: "recordContactCall", Tag: "tracing", Role: roleTracers, Body: callInput{}, Resp: ok(cases.WorkItem{})},
	"GET /api/v1/tracing/rules":                      {ID: "getTracingRules", Tag: "tracing", Role: roleAny, Resp: ok(tracing.RuleSettings{})},
	"PUT /api/v1/tracing/rules":                      {ID: "setTracingRules", Tag: "tracing", Role: roleHealthAdm, Body: tracing.RuleSettings{}, Strict: true, Resp: ok(tracing.RuleSettings{})},

	// Access to personal rows, by request and approval.
	"POST /api/v1/access-requests":              {ID: "requestAccess", Tag: "grants", Role: roleTracers, Body: cases.GrantRequest{}, Resp: created(cases.Grant{})},
	"GET /api/v1/access-requests":               {ID: "listAccessRequests", Tag: "grants", Role: roleAny, Resp: ok(grantsAnswer{})},
	"GET /api/v1/access-requests/{id}":          {ID: "getAccessRequest", Tag: "grants", Role: roleAny, Resp: ok(cases.Grant{})},
	"POST /api/v1/access-requests/{id}/approve": {ID: "approveAccessRequest", Tag: "grants", Role: roleAdmin, Body: reasonInput{}, OptionalBody: true, Resp: ok(cases.Grant{}), Errs: []int{http.StatusConflict}},
	"POST /api/v1/access-requests/{id}/refuse":  {ID: "refuseAccessRequest", Tag: "grants", Role: roleAdmin, Body: reasonInput{}, OptionalBody: true, Resp: ok(cases.Grant{}), Errs: []int{http.StatusConflict}},
	"POST /api/v1/access-requests/{id}/revoke":  {ID: "revokeAccessRequest", Tag: "grants", Role: roleAdmin, Body: reasonInput{}, OptionalBody: true, Resp: ok(cases.Grant{}), Errs: []int{http.StatusConflict}},
	"GET /api/v1/access-requests/{id}/visitors": {ID: "listGrantVisitors", Tag: "grants", Role: roleAny, Query: []param{q("venue", "integer"), q("day", "string")}, Resp: ok(visitorsAnswer{})},

	// Bluetooth tracing (Bluezone).
	"POST /api/v1/bluezone/register/code":     {ID: "sendBluezoneCode", Tag: "bluetooth", Role: rolePublic, Body: phoneCodeInput{}, Resp: map[int]any{http.StatusAccepted: expiresAnswer{}}, Errs: []int{http.StatusTooManyRequests}},
	"POST /api/v1/bluezone/devices":           {ID: "registerBluezoneDevice", Tag: "bluetooth", Role: rolePublic, Body: bluezone.Registration{}, Resp: created(bzRegistered{}), Errs: []int{http.StatusTooManyRequests}},
	"GET /api/v1/bluezone/devices/self":       {ID: "getBluezoneDevice", Tag: "bluetooth", Role: rolePublic, Headers: []param{{Name: deviceHeader, Type: "string", Required: true}}, Resp: ok(bluezone.Device{}), Errs: []int{http.StatusUnauthorized}},
	"POST /api/v1/bluezone/devices/self/ping": {ID: "pingBluezoneDevice", Tag: "bluetooth", Role: rolePublic, Headers: []param{{Name: deviceHeader, Type: "string", Required: true}}, Resp: noContent, Errs: []int{http.StatusUnauthorized}},
	"DELETE /api/v1/bluezone/devices/self":    {ID: "deleteBluezoneDevice", Tag: "bluetooth", Role: rolePublic, Headers: []param{{Name: deviceHeader, Type: "string", Required: true}}, Resp: noContent, Errs: []int{http.StatusUnauthorized}},
	"POST /api/v1/bluezone/unregister":        {ID: "unregisterBluezonePhone", Tag: "bluetooth", Role: rolePublic, Body: phoneConfirmInput{}, Resp: noContent, Errs: []int{http.StatusTooManyRequests}},
	"POST /api/v1/bluezone/contact-logs":      {ID: "uploadBluezoneContactLog", Tag: "bluetooth", Role: rolePublic, Headers: []param{q("X-Bluezone-Code", "string")}, Body: bluezone.LogBody{}, Resp: created(bluezone.UploadResult{}), Errs: []int{http.StatusTooManyRequests}},
	"POST /api/v1/bluezone/feed":              {ID: "publishBluezoneKeys", Tag: "bluetooth", Role: rolePublic, Body: bzPublishInput{}, Resp: created(publishedAnswer{}), Errs: []int{http.StatusTooManyRequests}},
	"GET /api/v1/bluezone/feed": {ID: "getBluezoneFeed", Tag: "bluetooth", Role: rolePublic, Query: []param{q("since", "integer")}, Headers: []param{q("If-None-Match", "string")},
		Resp: map[int]any{http.StatusOK: bluezone.Feed{}, http.StatusNotModified: nil}},
	"POST /api/v1/bluetooth/codes":              {ID: "issueBluetoothCode", Tag: "bluetooth", Role: roleTracers, Body: btIssueInput{}, Resp: created(codeIssued{})},
	"GET /api/v1/bluezone/people/{id}/contacts": {ID: "listBluetoothContacts", Tag: "bluetooth", Role: roleTracers, Query: []param{q("from", "string"), q("to", "string")}, Resp: ok(bzContactsAnswer{})},
	"GET /api/v1/bluezone/uploads":              {ID: "listBluezoneUploads", Tag: "bluetooth", Role: roleTracers, Resp: ok(bzUploadsAnswer{})},

	// Exposure Notification key server.
	"POST /api/v1/en/verify":  {ID: "verifyENCode", Tag: "exposure-notification", Role: rolePublic, Body: codeInput{}, Resp: ok(certificateAnswer{}), Errs: []int{http.StatusTooManyRequests}},
	"POST /api/v1/en/publish": {ID: "publishENKeys", Tag: "exposure-notification", Role: rolePublic, Body: enPublishInput{}, Resp: ok(exposure.PublishResult{}), Errs: []int{http.StatusTooManyRequests}},
	"GET /en/export/{region}/{file}": {ID: "getENExportFile", Tag: "exposure-notification", Role: rolePublic,
		Resp: ok(files{mediaZIP, "text/plain"})},
	"GET /api/v1/en/signing-keys": {ID: "listENSigningKeys", Tag: "exposure-notification", Role: rolePublic, Resp: ok(signingKeysAnswer{})},

	// The door-to-door drive: coverage for officers; the volunteers' list and visit sync (a team's one-day link in X-Door-Link).
	"GET /api/v1/door-to-door/coverage": {ID: "getDoorToDoorCoverage", Tag: "doortodoor", Role: roleDoor, Query: []param{q("unit", "string")}, Resp: ok(doortodoor.Coverage{})},
	"GET /api/v1/door/households":       {ID: "listDoorHouseholds", Tag: "doortodoor", Role: rolePublic, Headers: []param{{Name: doorHeader, Type: "string", Required: true}}, Resp: ok(doorHouseholdsAnswer{}), Errs: []int{http.StatusUnauthorized}},
	"POST /api/v1/door/visits":          {ID: "syncDoorVisits", Tag: "doortodoor", Role: rolePublic, Headers: []param{{Name: doorHeader, Type: "string", Required: true}}, Body: doortodoor.Batch{}, Resp: ok(doortodoor.Synced{}), Errs: []int{http.StatusUnauthorized, http.StatusForbidden}},

	// Smartphone adoption.
	"GET /api/v1/adoption":                 {ID: "getAdoption", Tag: "adoption", Role: roleAny, Query: []param{q("unit", "string")}, Resp: ok(adoption.Report{})},
	"PUT /api/v1/adoption/communes/{code}": {ID: "setCommuneSmartphoneUsers", Tag: "adoption", Role: roleOfficers, Body: adoptionUsersInput{}, Resp: noContent},
	"POST /api/v1/adoption/import":         {ID: "importSmartphoneUsers", Tag: "adoption", Role: roleOfficers, Query: []param{q("filename", "string")}, Body: files{mediaCSV, mediaXLSX}, Resp: ok(adoption.ImportResult{})},
	"GET /api/v1/adoption/targets":         {ID: "getAdoptionTargets", Tag: "adoption", Role: roleAny, Resp: ok(targetsAnswer{})},
	"PUT /api/v1/adoption/targets":         {ID: "setAdoptionTargets", Tag: "adoption", Role: roleAdmin, Body: adoptionTargetsInput{}, Resp: ok(targetsAnswer{})},

	// Operations centre: dashboard, public map, areas.
	"GET /api/v1/dashboard":        {ID: "getDashboard", Tag: "operations", Role: roleAny, Query: []param{q("unit", "string")}, Resp: ok(dashboard.Figures{})},
	"GET /api/v1/dashboard/stream": {ID: "streamDashboard", Tag: "operations", Role: roleAny, Query: []param{q("unit", "string")}, Resp: ok(mediaSSE)},
	"GET /api/v1/public/map": {ID: "getPublicMap", Tag: "operations", Role: rolePublic, Headers: []param{q("If-None-Match", "string")},
		Resp: map[int]any{http.StatusOK: dashboard.PublicMap{}, http.StatusNotModified: nil}},
	"GET /api/v1/public/map.geojson": {ID: "getPublicMapGeoJSON", Tag: "operations", Role: rolePublic, Headers: []param{q("If-None-Match", "string")},
		Resp: map[int]any{http.StatusOK: mediaGeo, http.StatusNotModified: nil}},
	"GET /api/v1/map-areas":           {ID: "listMapAreas", Tag: "operations", Role: roleAny, Resp: ok(areasAnswer{})},
	"POST /api/v1/map-areas":          {ID: "createMapArea", Tag: "operations", Role: roleOfficers, Body: dashboard.Area{}, Resp: created(dashboard.Area{})},
	"PUT /api/v1/map-areas/{id}":      {ID: "updateMapArea", Tag: "operations", Role: roleOfficers, Body: dashboard.Area{}, Resp: ok(dashboard.Area{})},
	"POST /api/v1/map-areas/{id}/end": {ID: "endMapArea", Tag: "operations", Role: roleOfficers, Resp: ok(endedAnswer{})},

	// Weekly reports.
	"GET /api/v1/reports/{week}/status":        {ID: "getReportStatus", Tag: "reports", Role: roleICT, Resp: ok(reports.Board{})},
	"GET /api/v1/reports/{week}/units/{unit}":  {ID: "getUnitReport", Tag: "reports", Role: roleAny, Resp: ok(reports.Report{})},
	"PUT /api/v1/reports/{week}/units/{unit}":  {ID: "submitUnitReport", Tag: "reports", Role: roleAny, Body: reports.Input{}, Resp: ok(reports.Report{})},
	"GET /api/v1/reports/{week}/consolidated":  {ID: "getConsolidatedReport", Tag: "reports", Role: roleICT, Resp: ok(reports.Consolidated{})},
	"GET /api/v1/reports/{week}/export/{file}": {ID: "exportConsolidatedReport", Tag: "reports", Role: roleICT, Resp: ok(files{mediaXLSX, mediaPDF})},
	"POST /api/v1/reports/{week}/send":         {ID: "sendConsolidatedReport", Tag: "reports", Role: roleICT, Resp: ok(reportSentAnswer{})},
	"PUT /api/v1/report-units/{unit}/email":    {ID: "setReportUnitEmail", Tag: "reports", Role: roleICT, Body: reportEmailInput{}, Strict: true, Resp: ok(reportEmailAnswer{})},

	// Quarantine zones and cameras.
	"GET /api/v1/zones":               {ID: "listZones", Tag: "cameras", Role: roleAny, Resp: ok(zonesAnswer{})},
	"POST /api/v1/zones":              {ID: "createZone", Tag: "cameras", Role: roleOfficers, Body: camera.Zone{}, Resp: created(camera.Zone{})},
	"PUT /api/v1/zones/{id}":          {ID: "updateZone", Tag: "cameras", Role: roleOfficers, Body: camera.Zone{}, Resp: ok(camera.Zone{})},
	"POST /api/v1/zones/{id}/cameras": {ID: "addCamera", Tag: "cameras", Role: roleOfficers, Body: camera.CameraInput{}, Resp: created(camera.Camera{})},
	"PUT /api/v1/cameras/{id}":        {ID: "updateCamera", Tag: "cameras", Role: roleOfficers, Body: camera.CameraInput{}, Resp: ok(camera.Camera{})},
	"DELETE /api/v1/cameras/{id}":     {ID: "deleteCamera", Tag: "cameras", Role: roleOfficers, Resp: ok(deletedAnswer{})},

	// Messaging campaigns and the message outbox.
	"GET /api/v1/campaign-templates":     {ID: "listCampaignTemplates", Tag: "campaigns", Role: roleAny, Resp: ok(templatesAnswer{})},
	"GET /api/v1/campaigns":              {ID: "listCampaigns", Tag: "campaigns", Role: roleOfficers, Resp: ok(campaignsAnswer{})},
	"POST /api/v1/campaigns/dry-run":     {ID: "dryRunCampaign", Tag: "campaigns", Role: roleOfficers, Body: campaign.Input{}, Resp: ok(campaign.DryRun{})},
	"POST /api/v1/campaigns":             {ID: "createCampaign", Tag: "campaigns", Role: roleOfficers, Body: campaign.Input{}, Resp: created(campaign.Campaign{})},
	"GET /api/v1/campaigns/{id}":         {ID: "getCampaign", Tag: "campaigns", Role: roleOfficers, Resp: ok(campaignAnswer{})},
	"POST /api/v1/campaigns/{id}/cancel": {ID: "cancelCampaign", Tag: "campaigns", Role: roleOfficers, Resp: ok(statusAnswer{}), Errs: []int{http.StatusConflict}},
	"GET /api/v1/messages/failed":        {ID: "listFailedMessages", Tag: "messages", Role: roleAdmin, Query: []param{q("limit", "integer")}, Resp: ok(failedAnswer{})},
	"POST /api/v1/messages/{id}/resend":  {ID: "resendMessage", Tag: "messages", Role: roleAdmin, Resp: ok(statusAnswer{}), Errs: []int{http.StatusConflict}},
	"POST /api/v1/message-reports/{channel}": {ID: "reportMessageDelivery", Tag: "messages", Role: rolePublic, Headers: []param{q("X-Signature", "string"), q("X-Callback-Token", "string")},
		Body: notify.Report{}, Resp: noContent, Errs: []int{http.StatusUnauthorized}},

	// Online meetings.
	"GET /api/v1/meetings":                        {ID: "listMeetings", Tag: "meetings", Role: roleAny, Resp: ok(meetingsAnswer{})},
	"POST /api/v1/meetings":                       {ID: "scheduleMeeting", Tag: "meetings", Role: roleOrganiser, Body: meeting.Input{}, Resp: created(meeting.Meeting{})},
	"GET /api/v1/meetings/{id}":                   {ID: "getMeeting", Tag: "meetings", Role: roleAny, Resp: ok(meeting.View{})},
	"PUT /api/v1/meetings/{id}/attendance/{user}": {ID: "markMeetingAttendance", Tag: "meetings", Role: roleOrganiser, Body: attendanceInput{}, Resp: noContent},
	"PUT /api/v1/meetings/{id}/minutes":           {ID: "setMeetingMinutes", Tag: "meetings", Role: roleOrganiser, Body: minutesInput{}, Resp: noContent},
	"PUT /api/v1/meetings/contact":                {ID: "setMeetingContact", Tag: "meetings", Role: roleAny, Body: meeting.Contact{}, Resp: ok(meeting.Contact{})},
	"POST /api/v1/meetings/webhook": {ID: "reportMeetingAttendance", Tag: "meetings", Role: rolePublic, Headers: []param{{Name: "X-Timestamp", Type: "string", Required: true}, {Name: "X-Signature", Type: "string", Required: true}},
		Body: jsonObject{}, Resp: noContent, Errs: []int{http.StatusUnauthorized, http.StatusConflict}},

	// Communication and the press.
	"GET /api/v1/press/materials":                    {ID: "listPressMaterials", Tag: "press", Role: roleAny, Resp: ok(materialsAnswer{})},
	"POST /api/v1/press/materials":                   {ID: "uploadPressMaterial", Tag: "press", Role: roleICT, Body: form{"title", "kind", "description", "file"}, Resp: created(press.Material{})},
	"GET /api/v1/press/materials/{id}":               {ID: "getPressMaterial", Tag: "press", Role: roleAny, Resp: ok(materialAnswer{})},
	"DELETE /api/v1/press/materials/{id}":            {ID: "removePressMaterial", Tag: "press", Role: roleICT, Resp: noContent},
	"GET /api/v1/press/materials/{id}/file":          {ID: "downloadPressMaterial", Tag: "press", Role: roleAny, Resp: ok(pressFiles)},
	"POST /api/v1/press/materials/{id}/uses":         {ID: "markPressMaterialUse", Tag: "press", Role: "commune_officer", Body: press.UseInput{}, Resp: created(press.Use{})},
	"DELETE /api/v1/press/materials/{id}/uses/{use}": {ID: "unmarkPressMaterialUse", Tag: "press", Role: "commune_officer", Resp: noContent},
	"GET /api/v1/press/releases":                     {ID: "listPressReleases", Tag: "press", Role: roleICT, Resp: ok(releasesAnswer{})},
	"POST /api/v1/press/releases":                    {ID: "draftPressRelease", Tag: "press", Role: roleICT, Body: refreshInput{}, OptionalBody: true, Resp: ok(press.Release{})},
	"GET /api/v1/press/releases/{week}":              {ID: "getPressRelease", Tag: "press", Role: rolePublic, Resp: ok(press.Release{})},
	"PUT /api/v1/press/releases/{week}":              {ID: "editPressRelease", Tag: "press", Role: roleICT, Body: press.Edit{}, Resp: ok(press.Release{}), Errs: []int{http.StatusConflict}},
	"POST /api/v1/press/releases/{week}/publish":     {ID: "publishPressRelease", Tag: "press", Role: roleICT, Resp: ok(press.Release{}), Errs: []int{http.StatusConflict}},
}
