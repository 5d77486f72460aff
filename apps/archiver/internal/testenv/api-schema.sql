-- The part of the API's schema the archiver touches, as Rails creates it from
-- datafruits/streampusher-api db/schema.rb @ 1e83d9e (ActiveRecord 7.0:
-- id: :serial is a serial integer key, datetime precision: nil is
-- "timestamp without time zone", t.string is character varying).
-- radios and users keep only the columns the archiver reads plus their
-- NOT NULL ones; tracks and recordings are whole. The archiver tests and the
-- radio suite load it (testenv.APIDatabase) in place of `rails db:schema:load`.
CREATE TABLE radios (
  id serial PRIMARY KEY,
  created_at timestamp,
  updated_at timestamp,
  name character varying(255) DEFAULT '' NOT NULL,
  enabled boolean DEFAULT true NOT NULL,
  vj_enabled boolean DEFAULT false NOT NULL,
  podcasts_enabled boolean DEFAULT false NOT NULL,
  stats_enabled boolean DEFAULT false NOT NULL
);
CREATE TABLE users (
  id serial PRIMARY KEY,
  email character varying(255) DEFAULT '' NOT NULL,
  encrypted_password character varying(255) DEFAULT '' NOT NULL,
  sign_in_count integer DEFAULT 0 NOT NULL,
  created_at timestamp,
  updated_at timestamp,
  role character varying(255),
  username character varying(255) DEFAULT '' NOT NULL,
  display_name character varying DEFAULT '' NOT NULL,
  enabled boolean DEFAULT true NOT NULL
);
CREATE TABLE tracks (
  id serial PRIMARY KEY,
  audio_file_name character varying(255),
  radio_id integer,
  created_at timestamp,
  updated_at timestamp,
  description character varying DEFAULT '' NOT NULL,
  artist character varying,
  title character varying,
  album character varying,
  year integer,
  track integer,
  filesize integer DEFAULT 0 NOT NULL,
  tag_processing_status integer DEFAULT 0 NOT NULL,
  length integer,
  artwork_file_name character varying,
  artwork_content_type character varying,
  artwork_file_size integer,
  artwork_updated_at timestamp,
  mixcloud_upload_status integer DEFAULT 0 NOT NULL,
  mixcloud_key character varying,
  uploaded_by_id integer,
  scheduled_show_id integer,
  soundcloud_upload_status integer DEFAULT 0 NOT NULL,
  soundcloud_key character varying,
  youtube_link character varying
);
CREATE INDEX index_tracks_on_radio_id ON tracks (radio_id);
CREATE TABLE recordings (
  id serial PRIMARY KEY,
  radio_id integer NOT NULL,
  dj_id integer,
  created_at timestamp,
  updated_at timestamp,
  path character varying,
  processing_status integer DEFAULT 0 NOT NULL,
  track_id integer,
  file_created_at timestamp
);
CREATE INDEX index_recordings_on_radio_id ON recordings (radio_id);
