-- One database per service (ARCHITECTURE.md: no service reads another's tables).
CREATE DATABASE meetings OWNER budapest;
CREATE DATABASE plan OWNER budapest;
CREATE DATABASE indicators OWNER budapest;
CREATE DATABASE notifications OWNER budapest;
CREATE DATABASE gateway OWNER budapest;
