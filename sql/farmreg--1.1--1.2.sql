/* sql/farmreg--1.1--1.2.sql -- farmreg 1.2 (work in progress, see CHANGELOG.md) */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION farmreg UPDATE TO '1.2'" to load this file. \quit

-- A fresh CREATE EXTENSION farmreg runs farmreg--1.0.sql, farmreg--1.0--1.1.sql
-- and then this script, so an upgraded database and a new one are the same by
-- construction.
