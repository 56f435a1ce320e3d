// Value sets of the User restricted picklists (a realistic subset of what a Salesforce org offers).

export interface PicklistValue { value: string, label: string }

// Assumption (docs/salesforce-behaviour.md#user-fields): the four User locale fields are restricted picklists; these are a subset of
// the real value sets (labels as Setup shows them), enough for IdP defaults and for tests of a bad value.
export const TIME_ZONES: PicklistValue[] = [
  ['Pacific/Kiritimati', '(GMT+14:00) Line Islands Time (Pacific/Kiritimati)'],
  ['Pacific/Auckland', '(GMT+13:00) New Zealand Daylight Time (Pacific/Auckland)'],
  ['Australia/Sydney', '(GMT+11:00) Australian Eastern Daylight Time (Australia/Sydney)'],
  ['Australia/Brisbane', '(GMT+10:00) Australian Eastern Standard Time (Australia/Brisbane)'],
  ['Asia/Tokyo', '(GMT+09:00) Japan Standard Time (Asia/Tokyo)'],
  ['Asia/Seoul', '(GMT+09:00) Korean Standard Time (Asia/Seoul)'],
  ['Asia/Shanghai', '(GMT+08:00) China Standard Time (Asia/Shanghai)'],
  ['Asia/Singapore', '(GMT+08:00) Singapore Standard Time (Asia/Singapore)'],
  ['Asia/Bangkok', '(GMT+07:00) Indochina Time (Asia/Bangkok)'],
  ['Asia/Dhaka', '(GMT+06:00) Bangladesh Standard Time (Asia/Dhaka)'],
  ['Asia/Kathmandu', '(GMT+05:45) Nepal Time (Asia/Kathmandu)'],
  ['Asia/Colombo', '(GMT+05:30) India Standard Time (Asia/Colombo)'],
  ['Asia/Kolkata', '(GMT+05:30) India Standard Time (Asia/Kolkata)'],
  ['Asia/Karachi', '(GMT+05:00) Pakistan Standard Time (Asia/Karachi)'],
  ['Asia/Dubai', '(GMT+04:00) Gulf Standard Time (Asia/Dubai)'],
  ['Europe/Moscow', '(GMT+03:00) Moscow Standard Time (Europe/Moscow)'],
  ['Africa/Nairobi', '(GMT+03:00) East Africa Time (Africa/Nairobi)'],
  ['Europe/Athens', '(GMT+02:00) Eastern European Standard Time (Europe/Athens)'],
  ['Africa/Johannesburg', '(GMT+02:00) South Africa Standard Time (Africa/Johannesburg)'],
  ['Europe/Paris', '(GMT+01:00) Central European Standard Time (Europe/Paris)'],
  ['Europe/Berlin', '(GMT+01:00) Central European Standard Time (Europe/Berlin)'],
  ['Europe/Amsterdam', '(GMT+01:00) Central European Standard Time (Europe/Amsterdam)'],
  ['Europe/Stockholm', '(GMT+01:00) Central European Standard Time (Europe/Stockholm)'],
  ['Europe/London', '(GMT+00:00) Greenwich Mean Time (Europe/London)'],
  ['Europe/Dublin', '(GMT+00:00) Greenwich Mean Time (Europe/Dublin)'],
  ['GMT', '(GMT+00:00) Greenwich Mean Time (GMT)'],
  ['Atlantic/Azores', '(GMT-01:00) Azores Standard Time (Atlantic/Azores)'],
  ['America/Sao_Paulo', '(GMT-03:00) Brasilia Standard Time (America/Sao_Paulo)'],
  ['America/Argentina/Buenos_Aires', '(GMT-03:00) Argentina Standard Time (America/Argentina/Buenos_Aires)'],
  ['America/Halifax', '(GMT-04:00) Atlantic Standard Time (America/Halifax)'],
  ['America/New_York', '(GMT-05:00) Eastern Standard Time (America/New_York)'],
  ['America/Toronto', '(GMT-05:00) Eastern Standard Time (America/Toronto)'],
  ['America/Chicago', '(GMT-06:00) Central Standard Time (America/Chicago)'],
  ['America/Mexico_City', '(GMT-06:00) Central Standard Time (America/Mexico_City)'],
  ['America/Denver', '(GMT-07:00) Mountain Standard Time (America/Denver)'],
  ['America/Phoenix', '(GMT-07:00) Mountain Standard Time (America/Phoenix)'],
  ['America/Los_Angeles', '(GMT-08:00) Pacific Standard Time (America/Los_Angeles)'],
  ['America/Anchorage', '(GMT-09:00) Alaska Standard Time (America/Anchorage)'],
  ['Pacific/Honolulu', '(GMT-10:00) Hawaii-Aleutian Standard Time (Pacific/Honolulu)'],
  ['Pacific/Pago_Pago', '(GMT-11:00) Samoa Standard Time (Pacific/Pago_Pago)'],
].map(([value, label]) => ({ value: value as string, label: label as string }))

export const LOCALES: PicklistValue[] = [
  ['en_US', 'English (United States)'], ['en_GB', 'English (United Kingdom)'], ['en_AU', 'English (Australia)'],
  ['en_CA', 'English (Canada)'], ['en_IE', 'English (Ireland)'], ['en_IN', 'English (India)'],
  ['en_NZ', 'English (New Zealand)'], ['en_SG', 'English (Singapore)'], ['en_ZA', 'English (South Africa)'],
  ['fr_FR', 'French (France)'], ['fr_CA', 'French (Canada)'], ['fr_BE', 'French (Belgium)'], ['fr_CH', 'French (Switzerland)'],
  ['de_DE', 'German (Germany)'], ['de_AT', 'German (Austria)'], ['de_CH', 'German (Switzerland)'],
  ['es_ES', 'Spanish (Spain)'], ['es_MX', 'Spanish (Mexico)'], ['es_AR', 'Spanish (Argentina)'],
  ['it_IT', 'Italian (Italy)'], ['nl_NL', 'Dutch (Netherlands)'], ['nl_BE', 'Dutch (Belgium)'],
  ['pt_BR', 'Portuguese (Brazil)'], ['pt_PT', 'Portuguese (Portugal)'], ['sv_SE', 'Swedish (Sweden)'],
  ['da_DK', 'Danish (Denmark)'], ['fi_FI', 'Finnish (Finland)'], ['no_NO', 'Norwegian (Norway)'],
  ['pl_PL', 'Polish (Poland)'], ['ru_RU', 'Russian (Russia)'], ['tr_TR', 'Turkish (Türkiye)'],
  ['ja_JP', 'Japanese (Japan)'], ['ko_KR', 'Korean (South Korea)'], ['zh_CN', 'Chinese (China)'],
  ['zh_TW', 'Chinese (Taiwan)'], ['th_TH', 'Thai (Thailand)'], ['hi_IN', 'Hindi (India)'],
  ['ta_IN', 'Tamil (India)'], ['si_LK', 'Sinhala (Sri Lanka)'], ['ta_LK', 'Tamil (Sri Lanka)'],
].map(([value, label]) => ({ value: value as string, label: label as string }))

// LanguageLocaleKey uses Salesforce's language codes: 'de', 'fr', not 'de_DE'.
export const LANGUAGES: PicklistValue[] = [
  ['en_US', 'English'], ['en_GB', 'English (UK)'], ['de', 'German'], ['es', 'Spanish'], ['es_MX', 'Spanish (Mexico)'],
  ['fr', 'French'], ['it', 'Italian'], ['ja', 'Japanese'], ['ko', 'Korean'], ['nl_NL', 'Dutch'],
  ['pt_BR', 'Portuguese (Brazil)'], ['sv', 'Swedish'], ['da', 'Danish'], ['fi', 'Finnish'], ['no', 'Norwegian'],
  ['ru', 'Russian'], ['th', 'Thai'], ['zh_CN', 'Chinese (Simplified)'], ['zh_TW', 'Chinese (Traditional)'],
  ['pl', 'Polish'], ['tr', 'Turkish'],
].map(([value, label]) => ({ value: value as string, label: label as string }))

export const EMAIL_ENCODINGS: PicklistValue[] = [
  ['UTF-8', 'Unicode (UTF-8)'],
  ['ISO-8859-1', 'General US & Western Europe (ISO-8859-1, ISO-LATIN-1)'],
  ['Shift_JIS', 'Japanese (Shift-JIS)'],
  ['ISO-2022-JP', 'Japanese (JIS)'],
  ['EUC-JP', 'Japanese (EUC)'],
  ['ks_c_5601-1987', 'Korean (ks_c_5601-1987)'],
  ['Big5', 'Traditional Chinese (Big5)'],
  ['GB2312', 'Simplified Chinese (GB2312)'],
  ['Big5-HKSCS', 'Traditional Chinese Hong Kong (Big5-HKSCS)'],
  ['x-SJIS_0213', 'Japanese (Shift-JIS_2004)'],
].map(([value, label]) => ({ value: value as string, label: label as string }))
