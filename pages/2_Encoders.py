import streamlit as st

st.title("2_Encoders")
